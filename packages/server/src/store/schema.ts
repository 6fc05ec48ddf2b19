import type { TokenTables } from './schema/tokens.js';
import type { EnrollmentTables } from './schema/enrollment.js';
import type { NodeTables } from './schema/nodes.js';
import type { SampleTables } from './schema/samples.js';
import type { CommandTables } from './schema/commands.js';
import type { JobTables } from './schema/jobs.js';
import type { TaskTables } from './schema/tasks.js';
import type { ServiceTables } from './schema/services.js';
import type { ArtifactTables } from './schema/artifacts.js';
import type { BackupTables } from './schema/backups.js';
import type { AlertTables } from './schema/alerts.js';
import type { WebhookTables } from './schema/webhooks.js';
import type { MetaTables } from './schema/meta.js';
import type { CertificateTables } from './schema/certificates.js';
import type { SigningTables } from './schema/signing.js';
import type { AuditTables } from './schema/audit.js';
import type { SessionTables } from './schema/sessions.js';
import type { AgentConfigTables } from './schema/agent-config.js';
import type { AgentUpgradeTables } from './schema/agent-upgrades.js';

export type * from './schema/tokens.js';
export type * from './schema/enrollment.js';
export type * from './schema/nodes.js';
export type * from './schema/samples.js';
export type * from './schema/commands.js';
export type * from './schema/jobs.js';
export type * from './schema/tasks.js';
export type * from './schema/services.js';
export type * from './schema/artifacts.js';
export type * from './schema/backups.js';
export type * from './schema/alerts.js';
export type * from './schema/webhooks.js';
export type * from './schema/meta.js';
export type * from './schema/certificates.js';
export type * from './schema/signing.js';
export type * from './schema/audit.js';
export type * from './schema/sessions.js';
export type * from './schema/agent-config.js';
export type * from './schema/agent-upgrades.js';

/**
 * Every table Kysely knows, gathered from one file per area under schema/ (add a table there,
 * and its area here if it is new). Column types are shared by SQLite and PostgreSQL: times are
 * integer milliseconds, JSON is text (parsed in rows.ts), booleans are 0/1 integers.
 */
export interface Database
  extends TokenTables,
    EnrollmentTables,
    NodeTables,
    SampleTables,
    CommandTables,
    JobTables,
    TaskTables,
    ServiceTables,
    ArtifactTables,
    BackupTables,
    AlertTables,
    WebhookTables,
    MetaTables,
    CertificateTables,
    SigningTables,
    AuditTables,
    SessionTables,
    AgentConfigTables,
    AgentUpgradeTables {}
