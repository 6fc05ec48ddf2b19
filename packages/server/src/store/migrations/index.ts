import type { Migration, MigrationProvider } from 'kysely';
import * as initial from './0001_initial.js';
import * as alerts from './0002_alerts.js';
import * as hosting from './0002a_hosting.js';
import * as artifactsBackups from './0003_artifacts_backups.js';
import * as tasks from './0004_tasks.js';
import * as services from './0005_services.js';
import * as nodeSamples from './0006_node_samples.js';
import * as backupDeletedAt from './0007_backup_deleted_at.js';
import * as foreignNodes from './0008_foreign_nodes.js';
import * as commandProgress from './0009_command_progress.js';
import * as nodeCertificates from './0010_node_certificates.js';
import * as signingKeys from './0011_signing_keys.js';
import * as auditApprovals from './0013_audit_approvals.js';
import * as commandOutput from './0014_command_output.js';
import * as sessionRecordings from './0015_session_recordings.js';
import * as webhookEvents from './0016_webhook_events.js';
import * as agentConfig from './0017_agent_config.js';
import * as nodeVersionSkew from './0018_node_version_skew.js';
import * as jobsFanout from './0020_jobs_fanout.js';
import * as commandOutputRetention from './0021_command_output_retention.js';
import * as agentUpgrades from './0022_agent_upgrades.js';

/**
 * Every migration, in the order they apply. The key is the name Kysely records in
 * `kysely_migration`, so a database knows what it already has: never rename or edit one that
 * has shipped (test/store/upgrade.test.ts opens a database made before this list was split).
 * Add a new one as the next file (`0007_<what>.ts`, exporting `up` and `down`) and list it here.
 * They are code, not files found at run time, so they ship inside the package and run the same
 * on SQLite and PostgreSQL.
 */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
  '0002_alerts': alerts,
  '0002a_hosting': hosting,
  '0003_artifacts_backups': artifactsBackups,
  '0004_tasks': tasks,
  '0005_services': services,
  '0006_node_samples': nodeSamples,
  '0007_backup_deleted_at': backupDeletedAt,
  '0008_foreign_nodes': foreignNodes,
  '0009_command_progress': commandProgress,
  '0010_node_certificates': nodeCertificates,
  '0011_signing_keys': signingKeys,
  '0013_audit_approvals': auditApprovals,
  '0014_command_output': commandOutput,
  '0015_session_recordings': sessionRecordings,
  '0016_webhook_events': webhookEvents,
  '0017_agent_config': agentConfig,
  '0018_node_version_skew': nodeVersionSkew,
  '0020_jobs_fanout': jobsFanout,
  '0021_command_output_retention': commandOutputRetention,
  '0022_agent_upgrades': agentUpgrades,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return { ...migrations };
  },
};
