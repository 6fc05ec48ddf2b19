import { InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '@steward/protocol/duration';
import { ValidationError } from '@steward/protocol/errors';
import { LABEL_KEY_PATTERN, parseLabelArgs, parseSelector } from '@steward/protocol/labels';
import { COMMAND_TYPE_PATTERN, NODE_NAME_PATTERN } from '@steward/protocol/patterns';
import { COMMAND_STATES, NODE_STATUSES } from '@steward/protocol/states';
import { span } from './format.js';

/**
 * Commander argument parsers. Each throws InvalidArgumentError, which commander
 * reports as `error: option '--ttl <duration>' argument 'banana' is invalid. …`,
 * so the message names the option before anything is sent anywhere.
 */

function reason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  // protocol messages start with the field name, which commander already says
  return msg.replace(/^[^:]*: /, '');
}

export function durationMs(value: string): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    throw new InvalidArgumentError('Expected a duration like 500ms, 30s, 5m, 1h.');
  }
  if (ms <= 0) throw new InvalidArgumentError('Must be more than zero.');
  return ms;
}

/**
 * A duration option: takes 500ms, 30s, 5m, 1h (a bare number is milliseconds), says so in the
 * help, and shows its default in the same units rather than as milliseconds.
 */
export function durationOption(flags: string, description: string, defaultMs?: number): Option {
  const o = new Option(flags, `${description} (500ms, 30s, 5m, 1h…)`).argParser(durationMs);
  return defaultMs === undefined ? o : o.default(defaultMs, span(defaultMs));
}

/** `--wait` in seconds, as the API wants it; the server holds a request at most 300 s. */
/** `--wait`: a duration, where a bare number means seconds (`--wait 3` is 3 s, not 3 ms). */
export function waitSeconds(value: string): number {
  let ms: number;
  try {
    ms = /^\s*\d+(\.\d+)?\s*$/.test(value) ? parseDuration(`${value.trim()}s`) : parseDuration(value);
  } catch {
    throw new InvalidArgumentError('Expected a duration like 10s or 2m.');
  }
  if (ms > 300_000) throw new InvalidArgumentError('At most 300s.');
  return ms / 1000;
}

export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('Expected a whole number of 1 or more.');
  }
  return Number(value);
}

/** Repeatable `--label k=v`; checked one by one so the bad pair is the one named. */
export function collectLabel(value: string, previous: string[] = []): string[] {
  try {
    parseLabelArgs([value]);
  } catch {
    throw new InvalidArgumentError('Expected k=v (key: letters, digits, . _ / -; value: letters, digits, . _ -).');
  }
  return [...previous, value];
}

/** Repeatable and comma-separated: `--node a --node b,c`. */
export function collectList(value: string, previous: string[] = []): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new InvalidArgumentError('Expected at least one value.');
  return [...previous, ...items];
}

export function selector(value: string): string {
  try {
    parseSelector(value);
  } catch (e) {
    throw new InvalidArgumentError(`${reason(e)}; expected terms like env=prod,role!=db,gpu,!legacy.`);
  }
  return value;
}

export function listenAddress(value: string): string {
  const m = /^(\[[0-9a-fA-F:]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(value.trim());
  if (!m || Number(m[2]) > 65535) {
    throw new InvalidArgumentError('Expected HOST:PORT, e.g. 127.0.0.1:7070 (port 0 picks a free one).');
  }
  return value.trim();
}

export function jsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (e) {
    throw new InvalidArgumentError(`Expected JSON (${(e as Error).message}).`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError('Expected a JSON object, e.g. {"path":"/tmp/x"}.');
  }
  return parsed as Record<string, unknown>;
}

export function commandType(value: string): string {
  if (!new RegExp(COMMAND_TYPE_PATTERN).test(value)) {
    throw new InvalidArgumentError('Expected a command type like exec.run or fs.mkdir.');
  }
  return value;
}


export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const NODE_STATUS_CHOICES: string[] = [...NODE_STATUSES];
export const COMMAND_STATE_CHOICES: string[] = [...COMMAND_STATES];
export const JOB_STATE_CHOICES = ['running', 'succeeded', 'failed', 'cancelled'];

export function checkNodeName(value: string, field: string): string {
  if (!new RegExp(NODE_NAME_PATTERN).test(value)) {
    throw new ValidationError(`${field}: ${JSON.stringify(value)} is not a valid node name`, [
      { field, rule: 'letters, digits, . _ -; starts with a letter or digit; at most 63 characters' },
    ]);
  }
  return value;
}

/**
 * kubectl-style label edits: `k=v` sets, `k-` removes. Returns the merge patch.
 */
export function labelEdits(args: readonly string[]): Record<string, string | null> {
  if (args.length === 0) {
    throw new ValidationError('labels: give at least one k=v to set or k- to remove', [
      { field: 'labels', rule: 'k=v or k-' },
    ]);
  }
  const patch: Record<string, string | null> = {};
  for (const arg of args) {
    if (!arg.includes('=') && arg.endsWith('-')) {
      const key = arg.slice(0, -1);
      if (!new RegExp(LABEL_KEY_PATTERN).test(key)) {
        throw new ValidationError(`labels: ${JSON.stringify(arg)} does not name a label key to remove`, [
          { field: 'labels', rule: 'k- with k: letters, digits, . _ / -' },
        ]);
      }
      patch[key] = null;
    } else {
      Object.assign(patch, parseLabelArgs([arg], 'labels'));
    }
  }
  return patch;
}

export function postgresUrl(value: string): string {
  if (!/^postgres(ql)?:\/\/\S+$/.test(value)) {
    throw new InvalidArgumentError('Expected a PostgreSQL URL like postgres://user:pass@host:5432/steward.');
  }
  return value;
}

/** `--mem 1G`, `512M`, `2GiB`, or a bare number of MB → whole megabytes. */
export function sizeMB(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([KMGT])(?:i?B)?)?\s*$/i.exec(value);
  if (!m) throw new InvalidArgumentError('Expected a size like 512M, 1G, 2GiB (a bare number is MB).');
  const unit = (m[2] ?? 'M').toUpperCase();
  const mb = Number(m[1]) * { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 }[unit]!;
  if (mb < 1) throw new InvalidArgumentError('At least 1 MB.');
  return Math.ceil(mb);
}

/** Non-negative whole number (`--retries 0` is allowed). */
export function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('Expected a whole number of 0 or more.');
  }
  return Number(value);
}

/** Repeatable and comma-separated capability names: `--cap python3 --cap gpu,bash`. */
export function collectCap(value: string, previous: string[] = []): string[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0 || items.some((c) => c.length > 100)) throw new InvalidArgumentError('Expected capability names like python3 or gpu.');
  return [...new Set([...previous, ...items])];
}

/**
 * The nodes a fan-out command targets: exactly one of a node list, `--selector`, `--all`.
 * `nodesFlag` is how the command names its list (`--node N (repeatable)` for `run`, `--nodes a,b`
 * for `agents upgrade`), so the message shows the flag the user can type.
 */
export function nodeTarget(
  o: { nodes?: string[]; selector?: string; all?: boolean },
  nodesFlag: { name: string; usage: string },
): { nodes: string[] } | { selector: string } | { all: true } {
  const given = [o.nodes?.length ? nodesFlag.name : '', o.selector ? '--selector' : '', o.all ? '--all' : ''].filter(Boolean);
  if (given.length !== 1) {
    throw new ValidationError(
      given.length === 0 ? `choose the nodes: ${nodesFlag.usage}, --selector SEL or --all` : `choose one of ${given.join(', ')}`,
      [{ field: 'target', rule: `exactly one of ${nodesFlag.name}, --selector, --all` }],
    );
  }
  if (o.nodes?.length) return { nodes: o.nodes };
  if (o.selector) return { selector: o.selector };
  return { all: true };
}
