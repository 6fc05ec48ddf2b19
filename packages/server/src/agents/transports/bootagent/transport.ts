import type { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  BOOTAGENT_ARTIFACTS_PATH,
  BOOTAGENT_BODY_LIMIT,
  BOOTAGENT_REGISTER_PATH,
  BOOTAGENT_STATUS_PATH,
  BootAgentRegister,
  BootAgentStatusCode,
  BootAgentStatusReport,
  issuesOf,
  SHA256_PATTERN,
  type BootAgentRefusal,
  type BootAgentRegisterReply,
  type BootAgentStatusReply,
  type Labels,
  type Static,
  type TSchema,
} from '@steward/protocol';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { Logger } from 'pino';
import type { Transport, TransportHost } from '../../transport.js';
import { BootDevice, type DeviceEnv } from './device.js';
import { tagsOf } from './jobs.js';
import { UrlSigner } from './signed-urls.js';

/** What admission answers for a device (AdmissionService.admit, narrowed). */
export type BootAdmission =
  | { state: 'approved'; node: { id: string; labels: Labels; heartbeatIntervalMs: number } }
  | { state: 'pending' | 'rejected'; admissionId: string };

export interface BootAgentTransportOptions {
  host: string;
  port: number;
  /** `svrlist` of config jobs; default: the address the device reached. */
  servers?: string[];
  log: Logger;
  now(): number;
  admit(req: { externalId: string; hostname: string; source: string; profile: unknown }): Promise<BootAdmission>;
  reportedRevisions: DeviceEnv['reportedRevisions'];
  declaredServices: DeviceEnv['declaredServices'];
  /** The artifact's bytes for a signed download; throws NotFoundError when it is not in the store. */
  openArtifact(sha256: string): Promise<{ size: number; stream: Readable }>;
  /** Whether the node still exists (a deleted node's URLs stop working). */
  nodeExists(nodeId: string): Promise<boolean>;
}

const registerCheck = TypeCompiler.Compile(BootAgentRegister);
const statusCheck = TypeCompiler.Compile(BootAgentStatusReport);
const SHA = new RegExp(SHA256_PATTERN);
/** Host header values used in URLs handed back to the device (anything else: the listener's own address). */
const HOST_HEADER = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$/;

class Refusal extends Error {
  constructor(
    readonly http: number,
    readonly body: BootAgentRefusal,
  ) {
    super(body.message);
  }
}

/**
 * BootAgent's HTTP short connections (seed 003) on a listener of their own: `POST
 * /agent/register`, `POST /agent/status`, and the signed artifact downloads of install jobs.
 * Every body is parsed as JSON whatever its content type (small C clients send what curl
 * defaults to), bounded, validated, and answered in the seed's shape: `{status, …}` with
 * `status` 0 when all is well, or `{status, code, message}` with an HTTP error status.
 */
export class BootAgentTransport implements Transport {
  readonly name = 'bootagent';
  private server: FastifyInstance | null = null;
  private readonly devices = new Map<string, BootDevice>();
  private readonly signer = new UrlSigner();
  /** `host:port` the listener is bound to (after install). */
  address = '';

  constructor(private readonly o: BootAgentTransportOptions) {}

  async install(_app: FastifyInstance, host: TransportHost): Promise<void> {
    const server = Fastify({ bodyLimit: BOOTAGENT_BODY_LIMIT, logger: false, connectionTimeout: 30_000, requestTimeout: 30_000, forceCloseConnections: true });
    server.removeAllContentTypeParsers();
    server.addContentTypeParser('*', { parseAs: 'string' }, (_req, text, done) => {
      try {
        done(null, JSON.parse(text as string));
      } catch {
        done(new Refusal(400, { status: BootAgentStatusCode.invalidRequest, code: 'malformed_body', message: 'the body is not valid JSON' }), undefined);
      }
    });
    server.setErrorHandler((err, _req, reply) => this.refuse(reply, err));
    server.setNotFoundHandler((req, reply) =>
      this.refuse(reply, new Refusal(404, { status: BootAgentStatusCode.invalidRequest, code: 'not_found', message: `no ${req.method} ${req.url.split('?')[0]} here` })),
    );
    server.post(BOOTAGENT_REGISTER_PATH, (req, reply) => this.register(req, reply));
    server.post(BOOTAGENT_STATUS_PATH, (req, reply) => this.status(req, reply, host));
    server.get(`${BOOTAGENT_ARTIFACTS_PATH}/:sha256`, (req, reply) => this.download(req, reply));
    await server.listen({ host: this.o.host, port: this.o.port });
    const a = server.server.address();
    this.address = typeof a === 'object' && a ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : '';
    this.server = server;
    this.o.log.info({ address: this.address }, 'BootAgent listener open');
  }

  async stop(): Promise<void> {
    for (const d of this.devices.values()) d.end();
    this.devices.clear();
    await this.server?.close();
    this.server = null;
  }

  private async register(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const body = this.valid(registerCheck, req.body);
    const { sn, node } = await this.admitted(req, body.hostname, body.agentsn, { hostname: body.hostname, agentsn: body.agentsn });
    const out: BootAgentRegisterReply = { status: BootAgentStatusCode.ok, agentsn: sn, tags: tagsOf(node.labels) };
    await reply.send(out);
  }

  private async status(req: FastifyRequest, reply: FastifyReply, host: TransportHost): Promise<void> {
    const body = this.valid(statusCheck, req.body);
    const { node } = await this.admitted(req, body.hostname, body.agentsn, { hostname: body.hostname, agentsn: body.agentsn, version: body.version });
    let device = this.devices.get(node.id);
    if (!device) {
      device = new BootDevice(node.id, {
        host,
        signer: this.signer,
        log: this.o.log,
        now: this.o.now,
        reportedRevisions: this.o.reportedRevisions,
        declaredServices: this.o.declaredServices,
        // A silent device with no job out is forgotten; its next report loads it again from the store.
        closed: (d) => d.idle && this.devices.get(d.nodeId) === d && this.devices.delete(d.nodeId),
      });
      this.devices.set(node.id, device);
    }
    const reached = this.reachedAt(req);
    const jobs = await device.report({ body, node, baseUrl: `http://${reached}`, svrlist: (this.o.servers ?? [reached]).join(','), source: req.ip });
    const out: BootAgentStatusReply = { status: BootAgentStatusCode.ok, jobs };
    await reply.send(out);
  }

  private async download(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const sha256 = (req.params as { sha256: string }).sha256;
    const denied = (message: string) => new Refusal(403, { status: BootAgentStatusCode.rejected, code: 'bad_signature', message });
    if (!SHA.test(sha256)) throw denied('not an artifact URL handed out in a job');
    const v = this.signer.verify(sha256, req.query as Record<string, unknown>, this.o.now());
    if ('refused' in v) throw denied(v.refused);
    if (!(await this.o.nodeExists(v.grant.nodeId))) throw denied('the node of this URL no longer exists');
    const { size, stream } = await this.o.openArtifact(sha256);
    await reply.header('content-type', 'application/octet-stream').header('content-length', String(size)).header('x-content-sha256', sha256).send(stream);
  }

  /** Admission by the device's own id (its agentsn, else its hostname); the node when admitted. */
  private async admitted(req: FastifyRequest, hostname: string, agentsn: string | undefined, profile: unknown) {
    const sn = agentsn?.trim() || hostname;
    const answer = await this.o.admit({ externalId: sn, hostname, source: req.ip, profile });
    if (answer.state === 'approved') return { sn, node: answer.node };
    if (answer.state === 'pending') {
      throw new Refusal(403, {
        status: BootAgentStatusCode.pending,
        code: 'admission_pending',
        message: `this BootAgent waits for an operator's approval: steward nodes approve ${sn}`,
        agentsn: sn,
      });
    }
    throw new Refusal(403, { status: BootAgentStatusCode.rejected, code: 'admission_rejected', message: 'an operator rejected this BootAgent', agentsn: sn });
  }

  private valid<T extends TSchema>(check: TypeCheck<T>, body: unknown): Static<T> {
    if (check.Check(body)) return body;
    const issues = issuesOf(check, body, 'body');
    throw new Refusal(400, {
      status: BootAgentStatusCode.invalidRequest,
      code: 'invalid_body',
      message: issues.map((i) => `${i.field}: ${i.rule}`).join('; ') || 'the body is not an object',
      issues,
    });
  }

  /** `host:port` the device used to reach this listener (its Host header when sane). */
  private reachedAt(req: FastifyRequest): string {
    const h = req.headers.host;
    return h && HOST_HEADER.test(h) ? h : this.address;
  }

  private refuse(reply: FastifyReply, err: unknown): FastifyReply {
    if (err instanceof Refusal) return reply.status(err.http).send(err.body);
    const e = err as { statusCode?: number; code?: string; status?: number; message?: string };
    const http = e.statusCode ?? e.status ?? 500;
    if (http >= 500) this.o.log.error({ err }, 'BootAgent request failed');
    const code = http === 413 ? 'body_too_large' : http === 404 ? 'not_found' : http < 500 ? 'invalid_request' : 'internal';
    const message = http >= 500 ? 'the control plane could not handle this report; send it again' : (e.message ?? code);
    return reply.status(http).send({ status: http >= 500 ? BootAgentStatusCode.failed : BootAgentStatusCode.invalidRequest, code, message } satisfies BootAgentRefusal);
  }
}
