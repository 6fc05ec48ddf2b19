import { Type, type TSchema } from '@sinclair/typebox';
import { MonitorChecksSetPayload } from '../api/monitor.js';
import { ServiceApplyPayload, ServiceLogsPayload, ServiceNamePayload } from '../api/services.js';
import { TaskRunPayload } from '../api/tasks.js';
import { AgentUpgradePayload } from './agent.js';
import { BackupDeletePayload, BackupRefPayload, BackupRestorePayload, BackupRunPayload } from './backup.js';
import { ExecRunPayload } from './exec.js';
import { FsChmodPayload, FsChownPayload, FsListPayload, FsMkdirPayload, FsPathPayload, FsReadPayload, FsRemovePayload, FsWritePayload } from './fs.js';
import { FtpUserRemovePayload, FtpUserSpec } from './ftp.js';
import { NginxSiteRemovePayload, SiteSpec } from './nginx.js';
import { ShellSessionPayload } from './shell.js';

export * from './agent.js';
export * from './backup.js';
export * from './exec.js';
export * from './fs.js';
export * from './ftp.js';
export * from './nginx.js';
export * from './shell.js';

export const EmptyPayload = Type.Object({}, { additionalProperties: false });
export const SysPingPayload = Type.Object({ echo: Type.Optional(Type.String({ maxLength: 4096 })) }, { additionalProperties: false });

/**
 * The payload schema of every command type of Steward's own agent modules. The agent declares
 * its commands with these, and the control plane validates and redacts (writeOnly parts) with
 * these, whatever a node's hello says: a node cannot loosen a built-in type's schema or hide its
 * secrets. Schemas an agent declares are used only for types not listed here (plugins).
 */
export const BUILTIN_PAYLOADS: Readonly<Record<string, TSchema>> = {
  'agent.upgrade': AgentUpgradePayload,
  'backup.run': BackupRunPayload,
  'backup.verify': BackupRefPayload,
  'backup.restore': BackupRestorePayload,
  'backup.list': EmptyPayload,
  'backup.delete': BackupDeletePayload,
  'exec.run': ExecRunPayload,
  'fs.list': FsListPayload,
  'fs.stat': FsPathPayload,
  'fs.mkdir': FsMkdirPayload,
  'fs.chmod': FsChmodPayload,
  'fs.chown': FsChownPayload,
  'fs.remove': FsRemovePayload,
  'fs.read': FsReadPayload,
  'fs.write': FsWritePayload,
  'ftp.user.apply': FtpUserSpec,
  'ftp.user.remove': FtpUserRemovePayload,
  'ftp.user.list': EmptyPayload,
  'ftp.status': EmptyPayload,
  'monitor.checks.set': MonitorChecksSetPayload,
  'monitor.checks.clear': EmptyPayload,
  'monitor.checks.list': EmptyPayload,
  'nginx.site.apply': SiteSpec,
  'nginx.site.remove': NginxSiteRemovePayload,
  'nginx.site.list': EmptyPayload,
  'nginx.status': EmptyPayload,
  'service.apply': ServiceApplyPayload,
  'service.remove': ServiceNamePayload,
  'service.start': ServiceNamePayload,
  'service.stop': ServiceNamePayload,
  'service.restart': ServiceNamePayload,
  'service.status': ServiceNamePayload,
  'service.logs': ServiceLogsPayload,
  'shell.session': ShellSessionPayload,
  'stats.get': EmptyPayload,
  'sys.ping': SysPingPayload,
  'sys.info': EmptyPayload,
  'task.run': TaskRunPayload,
};

/** The schema Steward itself defines for a command type, or undefined for a plugin's type. */
export function builtinPayload(type: string): TSchema | undefined {
  return Object.prototype.hasOwnProperty.call(BUILTIN_PAYLOADS, type) ? BUILTIN_PAYLOADS[type] : undefined;
}
