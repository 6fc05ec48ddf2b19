import type { ConfigDocument, ConfigTarget, LayerDocument, PushedConfig } from '@steward/protocol';
import { fromJson } from '../store/rows.js';
import type { AgentConfigDocumentsTable } from '../store/schema.js';

export function documentFromRow(r: AgentConfigDocumentsTable): ConfigDocument {
  return {
    name: r.name,
    target: fromJson<ConfigTarget>(r.target)!,
    priority: r.priority,
    config: fromJson<PushedConfig>(r.config) ?? {},
    version: r.version,
    updatedAt: r.updated_at,
    updatedBy: r.updated_by,
  };
}

export function layerOf(d: ConfigDocument): LayerDocument {
  return { name: d.name, priority: d.priority, target: d.target, config: d.config };
}
