export { StewardClient } from './client.js';
export type {
  StewardClientOptions,
  List,
  WaitOptions,
  SubmitResult,
  EventsOptions,
  ReceivedEvent,
  EventStream,
  HealthStatus,
  TaskSubmitResult,
  TaskStreamState,
  TaskOutputEvent,
  CommandOutputEvent,
  JobOutputEvent,
  CommandOutputOptions,
} from './client.js';
export { ApiError, type FieldIssueLike } from './api-error.js';
export { ConnectionConfigError } from './connection-error.js';
export { resolveConnection, localServerDataDir, type Connection, type ConnectionFlags } from './connection.js';
export type { ArtifactUpload, UploadOptions } from './artifact-transfer.js';
