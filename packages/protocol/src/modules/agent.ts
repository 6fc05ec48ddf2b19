import { Type } from '@sinclair/typebox';
import { SHA256_PATTERN } from '../patterns.js';

/** An agent version as packages name it (`steward-agent-<version>-linux-<arch>.tar.gz`). */
export const AGENT_VERSION_PATTERN = '^[A-Za-z0-9][A-Za-z0-9.+-]{0,63}$';

/**
 * `agent.upgrade`: the node downloads the package artifact, verifies it, unpacks it beside the
 * running version, switches `current` and restarts; a watcher switches back if the new agent is not
 * welcomed within `graceMs` (docs/upgrades.md).
 */
export const AgentUpgradePayload = Type.Object(
  {
    version: Type.String({ pattern: AGENT_VERSION_PATTERN }),
    /** The package in the control plane's artifact store. */
    sha256: Type.String({ pattern: SHA256_PATTERN }),
    graceMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 120_000 }),
  },
  { additionalProperties: false },
);

/** What `agent.upgrade` returns (and, as `result`, with a `rolled_back` failure). */
export const AgentUpgradeResult = Type.Object({
  outcome: Type.Union([Type.Literal('upgraded'), Type.Literal('rolled_back'), Type.Literal('interrupted')]),
  from: Type.String(),
  to: Type.String(),
  /** The version running now. */
  version: Type.String(),
  reason: Type.Optional(Type.String()),
});
