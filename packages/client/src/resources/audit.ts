import type {
  ApprovalListQuery,
  ApprovalPolicy,
  ApprovalPolicyPut,
  ApprovalRequest,
  AuditEntry,
  AuditListQuery,
  AuditVerifyReport,
  Command,
  JobDetail,
} from '@steward/protocol';
import { enc } from '../transport.js';
import { Resource, type List } from './resource.js';

/** The hash-chained audit log of operator actions (admin and operator tokens). */
export class AuditApi extends Resource {
  async listAudit(query: AuditListQuery = {}): Promise<List<AuditEntry>> {
    return this.http.json<List<AuditEntry>>('GET', '/audit', { query: { ...query } });
  }

  async verifyAudit(): Promise<AuditVerifyReport> {
    return this.http.json<AuditVerifyReport>('GET', '/audit/verify');
  }
}

/** Approval policies (admin changes them) and the decisions on what they hold. */
export class ApprovalsApi extends Resource {
  async putApprovalPolicy(name: string, body: ApprovalPolicyPut): Promise<ApprovalPolicy> {
    return this.http.json<ApprovalPolicy>('PUT', `/approval-policies/${enc(name)}`, { body });
  }

  async listApprovalPolicies(): Promise<List<ApprovalPolicy>> {
    return this.http.json<List<ApprovalPolicy>>('GET', '/approval-policies');
  }

  async deleteApprovalPolicy(name: string): Promise<void> {
    await this.http.request('DELETE', `/approval-policies/${enc(name)}`);
  }

  async listApprovals(query: ApprovalListQuery = {}): Promise<List<ApprovalRequest>> {
    return this.http.json<List<ApprovalRequest>>('GET', '/approvals', { query: { ...query } });
  }

  async approveCommand(id: string): Promise<Command> {
    return this.http.json<Command>('POST', `/commands/${enc(id)}/approve`);
  }

  async rejectCommand(id: string, reason?: string): Promise<Command> {
    return this.http.json<Command>('POST', `/commands/${enc(id)}/reject`, { body: reason ? { reason } : {} });
  }

  async approveJob(id: string): Promise<JobDetail> {
    return this.http.json<JobDetail>('POST', `/jobs/${enc(id)}/approve`);
  }

  async rejectJob(id: string, reason?: string): Promise<JobDetail> {
    return this.http.json<JobDetail>('POST', `/jobs/${enc(id)}/reject`, { body: reason ? { reason } : {} });
  }
}
