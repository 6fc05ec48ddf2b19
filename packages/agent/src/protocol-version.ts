import { AGENT_PROTOCOL_VERSION } from '@steward/protocol';

/**
 * The protocol version this agent says in its hello. Tests of version skew start a real agent
 * that claims another version through STEWARD_TEST_PROTOCOL_VERSION; it is honoured only when
 * NODE_ENV is `test` (vitest sets it, and test processes inherit it), never in a deployment.
 */
export function agentProtocolVersion(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.STEWARD_TEST_PROTOCOL_VERSION;
  return env.NODE_ENV === 'test' && override ? override : AGENT_PROTOCOL_VERSION;
}
