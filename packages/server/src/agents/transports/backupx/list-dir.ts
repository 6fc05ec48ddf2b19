import { BackupXListDirResult, compile, Type, type BackupXDirEntry, type CommandTypeInfo } from '@steward/protocol';

/**
 * Steward's `fs.list` as a BackupX agent runs it: its `list_dir` command. The one command type
 * such a node declares, so the dashboard's file browser works on it and anything else is refused
 * at submission.
 */

export const FS_LIST = 'fs.list';
export const LIST_DIR = 'list_dir';
const DEFAULT_LIMIT = 10_000;

const FsListPayload = Type.Object(
  {
    path: Type.String({ minLength: 1, maxLength: 4096, pattern: '^/', description: 'absolute path' }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: DEFAULT_LIMIT })),
  },
  { additionalProperties: false },
);

export const BACKUPX_COMMAND_TYPES: CommandTypeInfo[] = [
  {
    type: FS_LIST,
    module: 'fs',
    safeToRerun: true,
    description: "Entries of a directory, through the BackupX agent's list_dir (no mode or modification time).",
    payloadSchema: FsListPayload,
  },
];

const checkPayload = compile(FsListPayload);
const checkResult = compile(BackupXListDirResult);

/** What the device was asked, kept until its result comes back. */
export interface ListDirAsk {
  path: string;
  limit: number;
}

/** The `list_dir` payload for a dispatched `fs.list`; undefined when the payload is not one (refused at submission, so rare). */
export function listDirAsk(payload: unknown): ListDirAsk | undefined {
  if (!checkPayload.check(payload)) return undefined;
  return { path: payload.path, limit: payload.limit ?? DEFAULT_LIMIT };
}

/** `fs.list`'s result from a `list_dir` result; throws a ValidationError when the agent's result is not one. */
export function fsListResult(ask: ListDirAsk, result: unknown): { path: string; entries: FsListEntry[]; truncated: boolean } {
  const entries = [...(checkResult.parse(result, 'list_dir result').entries ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { path: ask.path, entries: entries.slice(0, ask.limit).map(entryOf), truncated: entries.length > ask.limit };
}

export interface FsListEntry {
  name: string;
  type: 'file' | 'directory';
  size: number;
  /** BackupX does not report permission bits: empty. */
  mode: string;
  /** BackupX does not report modification times: 0 (shown as unknown). */
  mtime: number;
}

function entryOf(e: BackupXDirEntry): FsListEntry {
  return { name: e.name, type: e.isDir ? 'directory' : 'file', size: e.isDir ? 0 : e.size, mode: '', mtime: 0 };
}

/** Go's error texts (`read dir: open /x: no such file or directory`) under fs.list's stable codes. */
const FAILURES: [RegExp, string][] = [
  [/no such file or directory/i, 'not_found'],
  [/not a directory/i, 'not_a_directory'],
  [/permission denied|operation not permitted/i, 'permission_denied'],
];

export function listDirFailure(ask: ListDirAsk, errorMessage: string | undefined): { code: string; message: string; details: { path: string } } {
  const message = errorMessage?.trim() || 'the BackupX agent reported a failure without a message';
  const code = FAILURES.find(([re]) => re.test(message))?.[1] ?? 'list_dir_failed';
  return { code, message, details: { path: ask.path } };
}
