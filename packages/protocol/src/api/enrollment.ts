import { Type, type Static } from '@sinclair/typebox';
import { SigningKeySet } from '../agent/signing.js';
import { Id, LabelsSchema, Nullable, Timestamp } from './common.js';
import { Inventory } from './inventory.js';
import { NODE_NAME_PATTERN } from '../patterns.js';

export const EnrollmentTokenCreate = Type.Object(
  {
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 366 * 86_400, default: 3600 })),
    uses: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
    labels: Type.Optional(LabelsSchema),
    note: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type EnrollmentTokenCreate = Static<typeof EnrollmentTokenCreate>;

export const EnrollmentToken = Type.Object({
  id: Id,
  expiresAt: Timestamp,
  usesAllowed: Type.Integer(),
  usesLeft: Type.Integer(),
  labels: LabelsSchema,
  note: Nullable(Type.String()),
  createdAt: Timestamp,
  expired: Type.Boolean(),
});
export type EnrollmentToken = Static<typeof EnrollmentToken>;

/** Returned once, at creation: the only time the secret is visible. */
export const EnrollmentTokenCreated = Type.Composite([EnrollmentToken, Type.Object({ token: Type.String() })]);
export type EnrollmentTokenCreated = Static<typeof EnrollmentTokenCreated>;

export { NODE_NAME_PATTERN };

export const EnrollRequest = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 200 }),
    name: Type.Optional(Type.String({ pattern: NODE_NAME_PATTERN })),
    labels: Type.Optional(LabelsSchema),
    inventory: Type.Optional(Inventory),
    /** PEM certificate signing request for a client certificate (mTLS); the key stays on the node. */
    csr: Type.Optional(Type.String({ minLength: 1, maxLength: 16_384 })),
  },
  { additionalProperties: false },
);
export type EnrollRequest = Static<typeof EnrollRequest>;

export const EnrollResponse = Type.Object({
  nodeId: Id,
  name: Type.String(),
  credential: Type.String(),
  /** Set when the name from the hostname was taken by another node and the server chose `name` instead. */
  renamedFrom: Type.Optional(Type.String()),
  /** The client certificate (PEM) signed by the control plane's CA for `csr`; only over TLS. */
  clientCert: Type.Optional(Type.String()),
  /** The keys the control plane signs commands with; the agent pins them in its identity. */
  signingKeys: Type.Optional(SigningKeySet),
});
export type EnrollResponse = Static<typeof EnrollResponse>;

/** `GET /api/v1/server/ca`: the CA agents pin (`steward agent --ca-sha256 …`). */
export const ServerCa = Type.Object({
  /** Whether the control plane serves HTTPS. */
  tls: Type.Boolean(),
  /** The CA certificate (PEM) that signed the server certificate, when known. */
  pem: Nullable(Type.String()),
  /** `sha256:<hex>` of the CA's DER SubjectPublicKeyInfo: the value of `--ca-sha256`. */
  sha256: Nullable(Type.String()),
  /** Agents must present the client certificate they got at enrollment. */
  requireClientCert: Type.Boolean(),
  /**
   * Base64 SHA-256 of the server certificate's SubjectPublicKeyInfo, as `curl --pinnedpubkey
   * sha256//…` takes it: the one-line install fetches install.sh with it before any CA is trusted.
   */
  serverKeySha256: Type.Optional(Nullable(Type.String())),
});
export type ServerCa = Static<typeof ServerCa>;

/** One agent package the control plane serves at `GET /install/<file>` (public). */
export const AgentPackage = Type.Object({
  /** `steward-agent-<version>-linux-<arch>.tar.gz` */
  file: Type.String(),
  /** Hex SHA-256 of the tarball: the install script refuses anything else. */
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  size: Type.Integer({ minimum: 0 }),
});
export type AgentPackage = Static<typeof AgentPackage>;

/** `GET /install/package.json`: the agent version this control plane installs, a package per arch (Node's names: x64, arm64). */
export const AgentPackages = Type.Object({
  version: Type.String(),
  packages: Type.Record(Type.String(), AgentPackage),
});
export type AgentPackages = Static<typeof AgentPackages>;
