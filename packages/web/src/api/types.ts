// Wire types come from the protocol package as types only, so none of its runtime (TypeBox)
// lands in the bundle.
export type {
  Command,
  DashboardSummary,
  CommandState,
  EnrollmentToken,
  EnrollmentTokenCreate,
  EnrollmentTokenCreated,
  Job,
  JobDetail,
  Node,
  NodeSample,
  NodeSummary,
  NodeStatus,
  StewardEvent,
  StewardEventKind,
} from '@steward/protocol';
