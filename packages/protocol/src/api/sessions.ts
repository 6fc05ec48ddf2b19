import { Type, type Static } from '@sinclair/typebox';
import { Id, Nullable, Timestamp } from './common.js';
import { Sha256 } from './artifacts.js';
import { ListingFormatQuery } from './listing.js';

/** The media type of an asciicast v2 recording (newline-delimited JSON: a header, then events). */
export const ASCIICAST_CONTENT_TYPE = 'application/x-asciicast';

/**
 * A recorded interactive terminal session (`shell.session` command): its output and timing as
 * an asciicast v2 file in the artifact store. Keystrokes are never recorded (passwords).
 */
export const SessionRecording = Type.Object(
  {
    id: Id,
    nodeId: Id,
    openedBy: Nullable(
      Type.Object({ tokenId: Type.String(), name: Type.String() }, { description: 'the API token that opened the session; null when not known (opened before recordings existed)' }),
    ),
    startedAt: Timestamp,
    endedAt: Timestamp,
    durationMs: Type.Integer({ minimum: 0 }),
    exitCode: Nullable(Type.Integer()),
    /** The command's end state (a session cut by a timeout or cancel still has its recording). */
    state: Type.String(),
    bytes: Type.Integer({ minimum: 0, description: 'size of the .cast file' }),
    sha256: Sha256,
    createdAt: Timestamp,
  },
  { description: 'the recording of one terminal session; read its asciicast at /api/v1/sessions/{id}/recording' },
);
export type SessionRecording = Static<typeof SessionRecording>;

export const SessionListQuery = Type.Object({
  node: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'node id or name' })),
  before: Type.Optional(Type.Integer({ minimum: 0, description: 'page: sessions started before this time (pass the last startedAt of the previous page)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 500 })),
  ...ListingFormatQuery,
});
export type SessionListQuery = Static<typeof SessionListQuery>;
