import { compile, PushedConfigSchema, ValidationError, type FieldIssue, type PushedConfig } from '@steward/protocol';
import type { AgentConfig } from '../core/config-schema.js';
import { moduleFolderNames } from '../modules/folders.js';
import { importBuiltinModule, resolveModuleSettings } from '../modules/registry.js';
import type { AgentModule } from '../modules/types.js';

const pushedValidator = compile(PushedConfigSchema);

/**
 * The agent's local configuration sources, able to put a pushed config in its place among them
 * (ConfigLayers from loadConfigLayers is one).
 */
export interface LocalLayers {
  /** The whole agent config with `pushed` merged in at its precedence; throws a ValidationError. */
  resolve(pushed: Record<string, unknown>): AgentConfig;
  /** The heartbeat interval the configuration sets with `pushed`, if any. */
  heartbeatMs(pushed: Record<string, unknown>): number | undefined;
}

/** A whole configuration, checked and ready to apply: nothing in it can fail validation later. */
export interface ResolvedConfig {
  config: AgentConfig;
  /** Each active module's settings, validated, defaults applied (by module name). */
  settings: Record<string, unknown>;
  /** The module definitions the config turns on, built-in ones in `config.modules` order, then plugins. */
  modules: AgentModule[];
  /** The heartbeat interval the configuration sets, when it sets one (else the node's own setting applies). */
  heartbeatMs: number | undefined;
}

export interface ResolveOptions {
  /** Plugin modules loaded now: their names are valid module names and their sections are checked. */
  plugins?: AgentModule[];
  /**
   * `refuse` (a pushed config arriving): a section for a module that does not exist is an error.
   * `ignore` (the stored config at start, before plugins are loaded): it is left alone.
   */
  unknownSections?: 'refuse' | 'ignore';
}

function issuesOf(e: ValidationError): FieldIssue[] {
  return (e.details as { issues?: FieldIssue[] } | undefined)?.issues ?? [];
}

/** The refusal of a pushed config: every issue, each field named as in the pushed document. */
export class PushedConfigError extends ValidationError {
  constructor(issues: FieldIssue[], reason?: string) {
    super(reason ?? `invalid configuration: ${issues.map((i) => `${i.field}: ${i.rule}`).join('; ')}`, issues);
  }
}

/**
 * Builds the whole configuration a pushed config gives with the local layers and checks ALL of
 * it before anything changes: the pushed document's shape, the merged agent config, that each
 * module exists (built-in or a loaded plugin), and each active module's settings against its
 * schema. Throws a PushedConfigError naming every bad field (`moduleSettings.monitor.checks[0].intervalMs`).
 */
export async function resolvePushedConfig(layers: LocalLayers, pushed: unknown, o: ResolveOptions = {}): Promise<ResolvedConfig> {
  if (!pushedValidator.check(pushed)) {
    try {
      pushedValidator.parse(pushed, 'pushed configuration');
    } catch (e) {
      if (e instanceof ValidationError) throw new PushedConfigError(issuesOf(e));
      throw e;
    }
  }
  const doc = pushed as PushedConfig;
  const plugins = o.plugins ?? [];
  const builtins = new Set(moduleFolderNames());
  const known = new Set([...builtins, ...plugins.map((p) => p.name)]);
  const issues: FieldIssue[] = [];
  (doc.modules ?? []).forEach((entry, i) => {
    const name = entry.replace(/^[+-]/, '');
    // Taking away a module that does not exist changes nothing; asking for one does.
    if (!entry.startsWith('-') && !builtins.has(name)) issues.push({ field: `modules[${i}]`, rule: `a built-in module: one of ${[...builtins].join(', ')}` });
  });
  if (o.unknownSections !== 'ignore') {
    for (const name of Object.keys(doc.moduleSettings ?? {})) {
      if (!known.has(name)) issues.push({ field: `moduleSettings.${name}`, rule: `a module of this agent: one of ${[...known].sort().join(', ')}` });
    }
  }
  let config: AgentConfig | undefined;
  try {
    config = layers.resolve(doc);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    issues.push(...issuesOf(e));
  }
  if (issues.length || !config) throw new PushedConfigError(dedupe(issues));
  // A module named only by the local layers (an older file) is reported against the merged list.
  config.modules.forEach((name, i) => {
    if (!builtins.has(name)) issues.push({ field: `modules[${i}]`, rule: `a built-in module: one of ${[...builtins].join(', ')}` });
  });
  if (issues.length) throw new PushedConfigError(issues);
  const modules = [...(await Promise.all(config.modules.map((name) => importBuiltinModule(name)))), ...plugins];
  const settings: Record<string, unknown> = {};
  for (const mod of modules) {
    try {
      Object.assign(settings, resolveModuleSettings([mod], config.moduleSettings));
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      issues.push(...issuesOf(e).map((i) => ({ ...i, field: `moduleSettings.${i.field}` })));
    }
  }
  if (issues.length) throw new PushedConfigError(issues);
  return { config, settings, modules, heartbeatMs: layers.heartbeatMs(doc) };
}

function dedupe(issues: FieldIssue[]): FieldIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.field}\n${i.rule}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
