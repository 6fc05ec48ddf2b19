export interface AuditLogTable {
  /** Position in the chain: the previous row's id + 1, assigned under the chain's lock. */
  id: number;
  at: number;
  actor_id: string | null;
  actor_name: string | null;
  role: string | null;
  action: string;
  target: string | null;
  source_ip: string;
  user_agent: string | null;
  status: number;
  error_code: string | null;
  /** JSON object of a few safe request fields (type, selector, name), never a payload. */
  summary: string;
  prev_hash: string;
  hash: string;
}

export interface ApprovalPoliciesTable {
  name: string;
  /** JSON array of command types or globs. */
  command_types: string;
  selector: string | null;
  approvals: number;
  ttl_seconds: number;
  created_at: number;
  updated_at: number;
}

/** A command (kind `command`) or a job (kind `job`, all its matching commands) awaiting approval. */
export interface ApprovalRequestsTable {
  id: string;
  kind: string;
  type: string;
  policy: string;
  needed: number;
  state: string;
  requested_by: string;
  requested_by_name: string;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  reason: string | null;
}

/** One approval of a request by one token; the primary key keeps it to one vote per token. */
export interface ApprovalVotesTable {
  request_id: string;
  token_id: string;
  token_name: string;
  at: number;
}

/** The audit log and the approvals it records. */
export interface AuditTables {
  audit_log: AuditLogTable;
  approval_policies: ApprovalPoliciesTable;
  approval_requests: ApprovalRequestsTable;
  approval_votes: ApprovalVotesTable;
}
