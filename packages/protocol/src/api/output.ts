import { Type, type Static } from '@sinclair/typebox';
import { Id, Timestamp } from './common.js';

/**
 * Streamed command output (`command.output` from agents; `GET /api/v1/commands/:id/output` and
 * `GET /api/v1/jobs/:id/output` as Server-Sent Events). A command's chunks are numbered by
 * `seq` from 0, contiguous across all its streams, so a reader resumes after the last it saw.
 */

/** Largest `data` of one chunk in bytes (UTF-8); the schema bounds it in characters, which are never more. */
export const OUTPUT_CHUNK_BYTES = 16 * 1024;
/** Most chunks in one `command.output` message. */
export const OUTPUT_CHUNKS_PER_MESSAGE = 64;

/**
 * `stdout`/`stderr` of a program, `pty` for a terminal's output, `resize` when a terminal's
 * window changed size (data `<cols>x<rows>`).
 */
export const OutputStream = Type.Union([Type.Literal('stdout'), Type.Literal('stderr'), Type.Literal('pty'), Type.Literal('resize')]);
export type OutputStream = Static<typeof OutputStream>;

export const OutputChunk = Type.Object({
  seq: Type.Integer({ minimum: 0 }),
  stream: OutputStream,
  data: Type.String({ maxLength: OUTPUT_CHUNK_BYTES, description: 'UTF-8 text; a multibyte character is never split between chunks' }),
  at: Timestamp,
});
export type OutputChunk = Static<typeof OutputChunk>;

/** SSE `output` event of a job's stream: a chunk and whose it is. */
export const JobOutputChunk = Type.Composite([Type.Object({ commandId: Id, nodeId: Id }), OutputChunk]);
export type JobOutputChunk = Static<typeof JobOutputChunk>;

/** SSE `truncated` event: the control plane stopped storing the command's output at its cap. */
export const OutputTruncated = Type.Object({ bytes: Type.Integer({ minimum: 0, description: 'output bytes stored' }) });
export type OutputTruncated = Static<typeof OutputTruncated>;

/** SSE `truncated` event of a job's stream: the same, for one of its commands. */
export const JobOutputTruncated = Type.Composite([Type.Object({ commandId: Id, nodeId: Id }), OutputTruncated]);
export type JobOutputTruncated = Static<typeof JobOutputTruncated>;

export const CommandOutputQuery = Type.Object({
  follow: Type.Optional(Type.Boolean({ default: true, description: 'keep the stream open until the command ends' })),
  after: Type.Optional(Type.Integer({ minimum: -1, description: 'start after this seq (as the Last-Event-ID header does)' })),
});
export type CommandOutputQuery = Static<typeof CommandOutputQuery>;
