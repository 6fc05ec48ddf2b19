import type { PushedConfig } from './agent/config.js';
import type { ConfigTarget } from './api/agent-config.js';
import { ValidationError } from './errors.js';
import { matchesSelector, parseSelector, type Labels } from './labels.js';

/**
 * How desired agent config documents merge into one node's effective config. Shared by the
 * control plane (what it pushes) and the CLI / dashboard (previews, `steward config diff`).
 */

/** A stored document as the merge needs it. */
export interface LayerDocument {
  name: string;
  priority: number;
  target: ConfigTarget;
  config: PushedConfig;
}

export interface EffectiveConfig {
  config: PushedConfig;
  /** Dotted key path → the document that gave the value. */
  sources: Record<string, string>;
  /** Names of the documents that matched, in merge order. */
  documents: string[];
}

/** Whether a document's target takes in the node (a list names nodes by id or by name). */
export function configTargets(target: ConfigTarget, node: { id: string; name: string; labels: Labels }): boolean {
  if ('all' in target) return true;
  if ('nodes' in target) return target.nodes.includes(node.id) || target.nodes.includes(node.name);
  return matchesSelector(node.labels, parseSelector(target.selector, 'target.selector'));
}

/** Merge order: priority ascending (the higher priority is applied last, so it wins), ties by name. */
export function byConfigMergeOrder(a: { priority: number; name: string }, b: { priority: number; name: string }): number {
  return a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

const MODULE_ENTRY = /^([+-]?)([a-z][a-z0-9]*)$/;

/**
 * A `modules` list is either a full list or only `+name` / `-name` changes (the agent's own YAML
 * rule); a document mixing both is refused at PUT, naming the field.
 */
export function checkModuleList(list: readonly string[] | undefined, field = 'config.modules'): void {
  if (!list) return;
  const changes = list.filter((e) => e.startsWith('+') || e.startsWith('-')).length;
  if (changes !== 0 && changes !== list.length) {
    throw new ValidationError(`${field}: either a full list (sys, exec) or only changes (+nginx, -task), not both`, [
      { field, rule: 'all entries or none start with + or -' },
    ]);
  }
}

/**
 * A later document's `modules` over the earlier result: a full list replaces it; changes apply
 * to a full list, or combine with earlier changes (the last word on a module wins), because the
 * agent's own list they will change is not known here.
 */
function mergeModules(base: string[] | undefined, next: string[]): string[] {
  const isChanges = next.length > 0 && next.every((e) => e.startsWith('+') || e.startsWith('-'));
  if (!isChanges || base === undefined) return [...next];
  const baseIsChanges = base.length > 0 && base.every((e) => e.startsWith('+') || e.startsWith('-'));
  if (!baseIsChanges) {
    let out = [...base];
    for (const e of next) {
      const [, op, name] = MODULE_ENTRY.exec(e)!;
      out = op === '-' ? out.filter((n) => n !== name) : out.includes(name!) ? out : [...out, name!];
    }
    return out;
  }
  const last = new Map<string, string>();
  for (const e of [...base, ...next]) {
    const name = e.slice(1);
    last.delete(name); // re-inserted: the order shows the last word
    last.set(name, e[0]!);
  }
  return [...last].map(([name, op]) => `${op}${name}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function forgetUnder(sources: Record<string, string>, path: string): void {
  for (const key of Object.keys(sources)) if (key === path || key.startsWith(`${path}.`)) delete sources[key];
}

/** Deep merge of plain objects; arrays and scalars are replaced whole. Records the source of every leaf. */
function mergeInto(target: Record<string, unknown>, src: Record<string, unknown>, path: string, doc: string, sources: Record<string, string>): void {
  for (const [key, value] of Object.entries(src)) {
    if (value === undefined) continue;
    const p = path ? `${path}.${key}` : key;
    if (isPlainObject(value)) {
      if (!isPlainObject(target[key])) {
        forgetUnder(sources, p);
        target[key] = {};
      }
      if (Object.keys(value).length === 0 && Object.keys(target[key] as object).length === 0) sources[p] = doc;
      else delete sources[p];
      mergeInto(target[key] as Record<string, unknown>, value, p, doc, sources);
    } else {
      forgetUnder(sources, p);
      target[key] = structuredClone(value);
      sources[p] = doc;
    }
  }
}

/** The effective config of a node: its matching documents merged in priority order. */
export function effectiveConfig(docs: readonly LayerDocument[], node: { id: string; name: string; labels: Labels }): EffectiveConfig {
  const matching = docs.filter((d) => configTargets(d.target, node)).sort(byConfigMergeOrder);
  const config: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  for (const d of matching) {
    const { modules, ...rest } = d.config;
    mergeInto(config, rest, '', d.name, sources);
    if (modules) {
      config.modules = mergeModules(config.modules as string[] | undefined, modules);
      sources.modules = d.name;
    }
  }
  return { config: config as PushedConfig, sources, documents: matching.map((d) => d.name) };
}
