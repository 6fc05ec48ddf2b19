import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { moduleFolderNames } from './modules/folders.js';
import { compile, parseLabelArgs, ValidationError, type FieldIssue, type Labels } from '@steward/protocol';

import { DEFAULT_MODULES } from './core/default-modules.js';
import type { LocalLayers } from './config/pushed.js';
import { normalizeServers } from './link/server-list.js';
import { isLoopbackHost, parseListen } from './core/listen.js';
import { DEFAULT_MAX_STREAM_BYTES, DEFAULT_RESULT_TAIL_BYTES } from './core/output.js';

export { DEFAULT_MODULES };

const MODULE_ENTRY = /^([+-]?)([a-z][a-z0-9]*)$/;

/**
 * One source's `modules` over what the sources below it gave: a full list replaces it;
 * `+name` / `-name` entries add to it or take away, so `modules: [+nginx, +ftp]` keeps the defaults.
 */
function applyModules(base: readonly string[], value: unknown, field: string): string[] {
  if (value === undefined) return [...base];
  if (!Array.isArray(value)) throw new ValidationError(`${field}: must be a list of module names`, [{ field, rule: 'array' }]);
  const entries = value.map((v, i) => {
    const m = typeof v === 'string' ? MODULE_ENTRY.exec(v) : null;
    if (!m) {
      throw new ValidationError(`${field}[${i}]: ${JSON.stringify(v)} is not a module name (optionally after + or -)`, [
        { field: `${field}[${i}]`, rule: `pattern ${MODULE_ENTRY.source}` },
      ]);
    }
    return { op: m[1], name: m[2]! };
  });
  const changes = entries.filter((e) => e.op).length;
  if (changes === 0) return entries.map((e) => e.name);
  if (changes !== entries.length) {
    throw new ValidationError(`${field}: either a full list (sys, exec) or only changes to the defaults (+nginx, -task), not both`, [
      { field, rule: 'all entries or none start with + or -' },
    ]);
  }
  let out = [...base];
  for (const e of entries) out = e.op === '-' ? out.filter((n) => n !== e.name) : out.includes(e.name) ? out : [...out, e.name];
  return out;
}

export { AgentConfigSchema, type AgentConfig } from './core/config-schema.js';
import { AgentConfigSchema, type AgentConfig } from './core/config-schema.js';


const validator = compile(AgentConfigSchema);

/** Flags as given on the command line; undefined means "not given". */
export interface AgentFlags {
  /** `--server`, repeatable; each may be a comma list. More than one: tried in order (failover). */
  server?: string | string[];
  enrollToken?: string;
  caSha256?: string;
  caFile?: string;
  insecure?: boolean;
  name?: string;
  label?: string[];
  dataDir?: string;
  pluginsDir?: string;
  config?: string;
  modules?: string;
  logLevel?: string;
  /** HOST:PORT of the inbound API (MediaStack controllers). */
  listen?: string;
}

export function defaultAgentDataDir(): string {
  return join(homedir(), '.steward', 'agent');
}

type Partialish = Record<string, unknown>;

const splitList = (s: string): string[] => s.split(',').map((x) => x.trim()).filter(Boolean);

/**
 * One source's control-plane URLs as a list under `servers`: `server` is a one-item list, kept
 * working for configs written before there was a list. Both in one source must agree on the first.
 */
function serversOf(part: Partialish, field: string): Partialish {
  const { server, ...rest } = part;
  if (server === undefined) return part;
  if (rest.servers === undefined) return { ...rest, servers: [server] };
  if (Array.isArray(rest.servers) && rest.servers[0] === server) return rest;
  throw new ValidationError(`${field}: give server or servers, not both (or make server the first of servers)`, [
    { field: 'server', rule: 'absent when servers is given, or equal to servers[0]' },
  ]);
}

function fromEnv(env: NodeJS.ProcessEnv): Partialish {
  const out: Partialish = {};
  if (env.STEWARD_SERVER) out.server = env.STEWARD_SERVER;
  if (env.STEWARD_SERVERS) out.servers = splitList(env.STEWARD_SERVERS);
  if (env.STEWARD_ENROLL_TOKEN) out.enrollToken = env.STEWARD_ENROLL_TOKEN;
  if (env.STEWARD_CA_SHA256) out.caSha256 = env.STEWARD_CA_SHA256;
  if (env.STEWARD_CA_FILE) out.caFile = env.STEWARD_CA_FILE;
  if (env.STEWARD_INSECURE === '1' || env.STEWARD_INSECURE === 'true') out.insecure = true;
  if (env.STEWARD_NAME) out.name = env.STEWARD_NAME;
  if (env.STEWARD_LABELS) out.labels = parseLabelArgs(env.STEWARD_LABELS.split(',').filter(Boolean), 'STEWARD_LABELS');
  // Not STEWARD_DATA_DIR: that is the control plane's, and both may run on one machine.
  if (env.STEWARD_AGENT_DATA_DIR) out.dataDir = env.STEWARD_AGENT_DATA_DIR;
  if (env.STEWARD_PLUGINS_DIR) out.pluginsDir = env.STEWARD_PLUGINS_DIR;
  if (env.STEWARD_MODULES) out.modules = env.STEWARD_MODULES.split(',').map((s) => s.trim()).filter(Boolean);
  if (env.STEWARD_LOG_LEVEL) out.logLevel = env.STEWARD_LOG_LEVEL;
  if (env.STEWARD_FS_ROOTS) out.fs = { roots: env.STEWARD_FS_ROOTS.split(':').filter(Boolean) };
  // Secrets of the inbound API may come from the environment, never from argv (ps shows it).
  const inbound: Partialish = {};
  if (env.STEWARD_INBOUND_API_KEY) inbound.apiKey = env.STEWARD_INBOUND_API_KEY;
  if (env.STEWARD_INBOUND_HMAC_SECRET) inbound.hmacSecret = env.STEWARD_INBOUND_HMAC_SECRET;
  if (Object.keys(inbound).length) out.inbound = inbound;
  return out;
}

function fromFile(path: string): Partialish {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ValidationError(`config file ${path}: ${(e as Error).message}`, [{ field: 'config', rule: 'readable file' }]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ValidationError(`config file ${path}: not valid YAML: ${(e as Error).message}`, [
      { field: 'config', rule: 'YAML' },
    ]);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ValidationError(`config file ${path}: must be a YAML mapping`, [{ field: 'config', rule: 'mapping' }]);
  }
  return doc as Partialish;
}

function fromFlags(flags: AgentFlags): Partialish {
  const out: Partialish = {};
  if (flags.server !== undefined) out.servers = [flags.server].flat().flatMap(splitList);
  if (flags.enrollToken !== undefined) out.enrollToken = flags.enrollToken;
  if (flags.caSha256 !== undefined) out.caSha256 = flags.caSha256;
  if (flags.caFile !== undefined) out.caFile = flags.caFile;
  if (flags.insecure) out.insecure = true;
  if (flags.name !== undefined) out.name = flags.name;
  if (flags.label?.length) out.labels = parseLabelArgs(flags.label, '--label');
  if (flags.dataDir !== undefined) out.dataDir = flags.dataDir;
  if (flags.pluginsDir !== undefined) out.pluginsDir = flags.pluginsDir;
  if (flags.modules !== undefined) out.modules = flags.modules.split(',').map((s) => s.trim()).filter(Boolean);
  if (flags.logLevel !== undefined) out.logLevel = flags.logLevel;
  if (flags.listen !== undefined) out.inbound = { listen: flags.listen };
  return out;
}

function isPlainObject(v: unknown): v is Partialish {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of plain objects; later sources win, arrays are replaced whole. */
function merge(...sources: Partialish[]): Partialish {
  const out: Partialish = {};
  for (const src of sources) {
    for (const [k, v] of Object.entries(src)) {
      out[k] = isPlainObject(v) && isPlainObject(out[k]) ? merge(out[k] as Partialish, v) : v;
    }
  }
  return out;
}

function issuesIn(e: ValidationError): FieldIssue[] {
  return (e.details as { issues?: FieldIssue[] } | undefined)?.issues ?? [];
}

function invalidConfig(issues: FieldIssue[]): ValidationError {
  return new ValidationError(`invalid agent configuration: ${issues.map((i) => `${i.field}: ${i.rule}`).join('; ')}`, issues);
}

/**
 * Keys of the configuration the control plane may push (PushedConfigSchema); a YAML file's
 * `keepLocal` may name these, or a module name (that module's section).
 */
export const PUSHABLE_KEYS = ['heartbeatIntervalMs', 'logLevel', 'servers', 'fs', 'exec', 'capabilities', 'modules', 'moduleSettings', 'plugins'] as const;

/**
 * Every source of the configuration, kept apart so a pushed config can be merged in between at
 * run time (docs/configuration.md, precedence). Module sections (YAML keys naming a module
 * folder) are already under each layer's `moduleSettings`.
 */
export interface ConfigLayers extends LocalLayers {
  defaults: Partialish;
  env: Partialish;
  /** The YAML file without the keys it keeps local. */
  file: Partialish;
  /** The YAML file's `keepLocal` keys: these win over the pushed config. */
  fileKept: Partialish;
  flags: Partialish;
  /** As the file lists them (`heartbeatIntervalMs`, `fs`, `monitor`…). */
  keepLocal: string[];
}

type LayerData = Omit<ConfigLayers, keyof LocalLayers>;

/** The layers with what a pushed config needs of them: resolveConfig and configuredHeartbeatMs. */
function withResolvers(data: LayerData): ConfigLayers {
  const layers: ConfigLayers = {
    ...data,
    resolve: (pushed) => resolveConfig(layers, pushed),
    heartbeatMs: (pushed) => configuredHeartbeatMs(layers, pushed),
  };
  return layers;
}

/** A layer's top-level module sections (`monitor:`) moved under its `moduleSettings`. */
function withModuleSections(layer: Partialish, moduleNames: Set<string>): Partialish {
  const known = new Set(Object.keys(AgentConfigSchema.properties));
  const out: Partialish = { ...layer };
  const sections: Partialish = isPlainObject(out.moduleSettings) ? { ...out.moduleSettings } : {};
  let moved = false;
  for (const key of Object.keys(out)) {
    if (!known.has(key) && moduleNames.has(key)) {
      sections[key] = out[key];
      delete out[key];
      moved = true;
    }
  }
  if (moved || out.moduleSettings !== undefined) out.moduleSettings = sections;
  return out;
}

/** Splits the file on its `keepLocal` list; a bad list is reported with the field named. */
function splitKeepLocal(file: Partialish, moduleNames: Set<string>): { file: Partialish; kept: Partialish; keepLocal: string[] } {
  const list = file.keepLocal;
  const rest: Partialish = { ...file };
  delete rest.keepLocal;
  if (list === undefined) return { file: rest, kept: {}, keepLocal: [] };
  const allowed = new Set<string>([...PUSHABLE_KEYS, ...moduleNames]);
  if (!Array.isArray(list)) throw new ValidationError('keepLocal: must be a list of configuration keys', [{ field: 'keepLocal', rule: 'array' }]);
  const issues: FieldIssue[] = [];
  list.forEach((k, i) => {
    if (typeof k !== 'string' || !allowed.has(k)) issues.push({ field: `keepLocal[${i}]`, rule: `one of ${[...allowed].join(', ')}` });
  });
  if (issues.length) throw invalidConfig(issues);
  const keepLocal = list as string[];
  const kept: Partialish = {};
  const restSections: Partialish = isPlainObject(rest.moduleSettings) ? { ...rest.moduleSettings } : {};
  const keptSections: Partialish = {};
  for (const key of keepLocal) {
    if (moduleNames.has(key) && !(PUSHABLE_KEYS as readonly string[]).includes(key)) {
      if (key in restSections) keptSections[key] = restSections[key];
      delete restSections[key];
    } else if (key in rest) {
      kept[key] = rest[key];
      delete rest[key];
    }
  }
  if (rest.moduleSettings !== undefined) rest.moduleSettings = restSections;
  if (Object.keys(keptSections).length) kept.moduleSettings = { ...(isPlainObject(kept.moduleSettings) ? kept.moduleSettings : {}), ...keptSections };
  return { file: rest, kept, keepLocal };
}

/** Reads every local source (defaults, STEWARD_* environment, YAML file, flags) without merging them. */
export function loadConfigLayers(flags: AgentFlags, env: NodeJS.ProcessEnv = process.env): ConfigLayers {
  const moduleNames = new Set(moduleFolderNames());
  const envPart = withModuleSections(serversOf(fromEnv(env), 'STEWARD_SERVER and STEWARD_SERVERS'), moduleNames);
  const configPath = flags.config ?? env.STEWARD_CONFIG;
  const filePart = configPath ? serversOf(fromFile(configPath), `config file ${configPath}`) : {};
  const split = splitKeepLocal(withModuleSections(filePart, moduleNames), moduleNames);
  const flagPart = withModuleSections(fromFlags(flags), moduleNames);
  const dataDir = resolve(String(flagPart.dataDir ?? split.file.dataDir ?? envPart.dataDir ?? defaultAgentDataDir()));
  const defaults: Partialish = {
    servers: ['http://127.0.0.1:7070'],
    insecure: false,
    labels: {} as Labels,
    dataDir,
    pluginsDir: join(dataDir, 'plugins'),
    modules: DEFAULT_MODULES,
    logLevel: 'info',
    capabilities: [],
    heartbeatIntervalMs: 15_000,
    reconnect: { initialDelayMs: 1000, maxDelayMs: 60_000, keepaliveMs: 15_000 },
    fs: { roots: [join(dataDir, 'files')], maxReadBytes: 1024 * 1024 },
    exec: { maxOutputBytes: DEFAULT_RESULT_TAIL_BYTES, maxStreamBytes: DEFAULT_MAX_STREAM_BYTES, allowShell: true },
    resources: {},
  };
  return withResolvers({ defaults, env: envPart, file: split.file, fileKept: split.kept, flags: flagPart, keepLocal: split.keepLocal });
}

/**
 * Resolves the agent's configuration: defaults < STEWARD_* env < YAML file < pushed config <
 * the file's `keepLocal` keys < flags. Keys of `pushed` the agent config has no place for
 * (`plugins`, `servers`) are left to the parts that handle them. Throws a ValidationError naming every bad field.
 */
export function resolveConfig(layers: ConfigLayers, pushed: Partialish = {}): AgentConfig {
  const known = new Set(Object.keys(AgentConfigSchema.properties));
  // A pushed server list is not merged here: it goes to the ServerList (link/server-list.ts), which
  // keeps it only once one of its servers welcomed the agent; `servers` here is the local list.
  const pushedPart: Partialish = Object.fromEntries(Object.entries(pushed).filter(([k]) => known.has(k) && k !== 'servers'));
  const ordered: [Partialish, string][] = [
    [layers.env, 'STEWARD_MODULES'],
    [layers.file, 'modules'],
    [pushedPart, 'modules'],
    [layers.fileKept, 'modules'],
    [layers.flags, '--modules'],
  ];
  const merged = merge(layers.defaults, ...ordered.map(([part]) => part));
  merged.dataDir = layers.defaults.dataDir;
  if (Array.isArray(merged.servers)) merged.server = merged.servers[0];
  // Flags always win; the file wins over a pushed list only when it keeps `servers` local.
  if (layers.flags.servers !== undefined || layers.keepLocal.includes('servers')) merged.serversPinned = true;
  // Keys without an address (STEWARD_INBOUND_API_KEY set for a later --listen) leave the API off.
  if (isPlainObject(merged.inbound) && merged.inbound.listen === undefined) delete merged.inbound;
  // Bad module entries are reported with every other bad field, not one at a time.
  const moduleErrors: ValidationError[] = [];
  merged.modules = ordered.reduce((list, [part, field]) => {
    try {
      return applyModules(list, part.modules, field);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      moduleErrors.push(e);
      return list;
    }
  }, (layers.defaults.modules as readonly string[] | undefined) ?? DEFAULT_MODULES);
  const moduleIssues = moduleErrors.flatMap(issuesIn);
  if (!isPlainObject(merged.moduleSettings)) merged.moduleSettings = {};
  let config: AgentConfig;
  try {
    config = validator.parse(merged, 'agent configuration');
  } catch (e) {
    if (!(e instanceof ValidationError) || moduleIssues.length === 0) throw e;
    throw invalidConfig([...moduleIssues, ...issuesIn(e)]);
  }
  // Alone, a bad entry keeps its own message (it quotes the entry); with others they are listed together.
  if (moduleErrors.length === 1) throw moduleErrors[0]!;
  if (moduleErrors.length) throw invalidConfig(moduleIssues);
  checkInboundKey(config);
  config.servers = normalizeServers(config.servers);
  config.server = config.servers[0]!;
  if (config.caFile) config.caFile = resolve(config.caFile);
  config.fs.roots = config.fs.roots.map((r) => resolve(r));
  config.pluginsDir = resolve(config.pluginsDir);
  return config;
}

/**
 * The heartbeat interval the configuration sets, if any: the pushed one, or the file's when it
 * keeps `heartbeatIntervalMs` local. Otherwise the node's own setting, which the control plane
 * sends at welcome, applies (the default here only covers the time before it).
 */
export function configuredHeartbeatMs(layers: ConfigLayers, pushed: Partialish = {}): number | undefined {
  const kept = layers.fileKept.heartbeatIntervalMs;
  if (typeof kept === 'number') return kept;
  return typeof pushed.heartbeatIntervalMs === 'number' ? pushed.heartbeatIntervalMs : undefined;
}

/** Layers for an agent started from an already resolved config (tests, embedders): it is the base. */
export function layersOf(config: AgentConfig): ConfigLayers {
  return withResolvers({ defaults: structuredClone(config) as Partialish, env: {}, file: {}, fileKept: {}, flags: {}, keepLocal: [] });
}

/** The configuration from the local sources alone (what `--check-config` shows). */
export function loadAgentConfig(flags: AgentFlags, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  return resolveConfig(loadConfigLayers(flags, env));
}

/**
 * An inbound API reachable from other machines must have a key chosen by its operator; on a
 * loopback address the agent makes one itself (kept in its data dir) when none is given.
 */
function checkInboundKey(config: AgentConfig): void {
  const inbound = config.inbound;
  if (!inbound || inbound.apiKey || inbound.apiKeyFile || isLoopbackHost(parseListen(inbound.listen).host)) return;
  throw new ValidationError(
    `inbound API: listening on ${inbound.listen} (not a loopback address) needs an API key: set inbound.apiKey, inbound.apiKeyFile or STEWARD_INBOUND_API_KEY`,
    [{ field: 'inbound.apiKey', rule: 'required when inbound.listen is not a loopback address' }],
  );
}

/** What `--check-config` prints: everything, with secrets masked. */
export function describeConfig(config: AgentConfig): Record<string, unknown> {
  const mask = (v: string | undefined) => (v ? '***' : undefined);
  const inbound = config.inbound && { ...config.inbound, apiKey: mask(config.inbound.apiKey), hmacSecret: mask(config.inbound.hmacSecret) };
  return { ...config, enrollToken: mask(config.enrollToken), ...(inbound ? { inbound } : {}) };
}
