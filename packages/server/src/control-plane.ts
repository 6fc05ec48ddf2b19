import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { newId } from '@steward/protocol';
import { ensureAdminToken } from './admin-token.js';
import { PgRelay } from './cluster/pg-relay.js';
import type { Relay } from './cluster/relay.js';
import { AdmissionService } from './admissions/service.js';
import { AuditService } from './audit/service.js';
import { Link } from './agents/link.js';
import { envPositiveInt } from './core/env.js';
import { StreamSlots } from './core/stream-slots.js';
import { limitsFrom } from './core/limits.js';
import { websocketTransport } from './agents/transports/websocket.js';
import { openArtifactStore } from './artifacts/feature.js';
import { PayloadChecker } from './commands/payload-check.js';
import { CatalogCache } from './commands/catalogs.js';
import { CommandService } from './commands/service.js';
import type { AlertSink } from './core/alert-sink.js';
import type { Context, Settings } from './core/context.js';
import { EventBus } from './core/bus.js';
import type { Feature } from './core/feature.js';
import { FEATURES } from './features.js';
import { createApp } from './http/app.js';
import { healthRoutes } from './http/health.js';
import { JobService } from './jobs/service.js';
import { JobTracker } from './jobs/tracker.js';
import { parseListen, urlFor } from './core/listen.js';
import { createLogger } from './log.js';
import { Metrics } from './core/metrics.js';
import { NodeService } from './nodes/service.js';
import { defaultServerDataDir, ENDPOINT_FILE, type RunningServer, type ServerOptions } from './options.js';
import { CommandSigner } from './security/signing-key.js';
import { Store } from './store/store.js';
import { caFiles } from './pki/ca.js';
import { serverTls, type TlsChoice } from './pki/server-tls.js';
import { STEWARD_VERSION } from './version.js';
import { restoredMarker } from './cp-backup/index.js';

/** Timing knobs may also come from the environment, so tests can shorten them for a child process. */
function settingsFrom(o: ServerOptions): Settings {
  return {
    offlineAfterMs: o.offlineAfterMs ?? envPositiveInt('STEWARD_OFFLINE_AFTER_MS', 'milliseconds') ?? 45_000,
    startupGuardMs: o.startupGuardMs ?? envPositiveInt('STEWARD_STARTUP_GUARD_MS', 'milliseconds') ?? 90_000,
    disconnectGraceMs: o.disconnectGraceMs ?? envPositiveInt('STEWARD_DISCONNECT_GRACE_MS', 'milliseconds') ?? 10_000,
    heartbeatIntervalMs: o.heartbeatIntervalMs ?? envPositiveInt('STEWARD_HEARTBEAT_INTERVAL_MS', 'milliseconds') ?? 15_000,
    sweepIntervalMs: o.sweepIntervalMs ?? envPositiveInt('STEWARD_SWEEP_INTERVAL_MS', 'milliseconds') ?? 1000,
    timeoutGraceMs: envPositiveInt('STEWARD_TIMEOUT_GRACE_MS', 'milliseconds') ?? 5000,
    limits: limitsFrom(o.limits),
  };
}

/**
 * The control plane process: store, HTTP API, agent sockets and the sweeps that keep time.
 * Lifecycle: start → (serving) → drain (refuse new work, close sockets) → stop.
 */
export class ControlPlane implements RunningServer {
  private draining = false;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  url = '';
  caPin: string | null = null;
  caFile: string | null = null;
  adminTokenPath = '';
  adminTokenCreated = false;
  relay: Relay | null = null;

  private constructor(
    readonly dataDir: string,
    readonly ctx: Context,
    private readonly app: FastifyInstance,
    private readonly link: Link,
    readonly commands: CommandService,
    private readonly features: Feature[],
  ) {}

  static async start(options: ServerOptions = {}): Promise<ControlPlane> {
    const dataDir = resolve(options.dataDir ?? defaultServerDataDir());
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const { host, port } = parseListen(options.listen ?? '127.0.0.1:7070');
    const log: Logger = createLogger(options.logLevel ?? 'info', undefined, options.logStream);
    const target = options.db ?? join(dataDir, 'steward.db');
    const store = await Store.open(target);
    const replicaId = newId('replica');
    const ctx: Context = {
      store,
      bus: new EventBus(),
      log,
      settings: { ...settingsFrom(options), restored: restoredMarker(dataDir) },
      now: Date.now,
      startedAt: Date.now(),
      alerts: logOnlyAlerts(log),
      metrics: new Metrics(),
    };
    try {
      const tls = serverTls(tlsChoice(options), host, dataDir, log);
      const signer = await CommandSigner.open(store.db, dataDir, ctx.now(), options.signingKeyFile);
      const link = new Link(ctx, replicaId, signer).use(
        websocketTransport({ sendBufferBytes: ctx.settings.limits.agentSendBufferBytes, requireClientCert: tls?.requireClientCert ?? false }),
      );
      const audit = new AuditService(ctx);
      const commands = new CommandService(ctx, link, new PayloadChecker(), new CatalogCache(), audit.record);
      link.receive(commands);
      const tracker = new JobTracker(ctx, link);
      const jobs = new JobService(ctx, commands, link, tracker);
      const nodes = new NodeService(ctx, commands, link);
      const artifacts = openArtifactStore(ctx, dataDir);
      const { app, api } = await createApp({
        log,
        store,
        limits: ctx.settings.limits,
        metrics: ctx.metrics,
        bodyLimit: options.bodyLimit ?? 1024 * 1024,
        version: STEWARD_VERSION,
        audit: audit.record,
        ...(tls ? { https: tls.https } : {}),
      });
      const features: Feature[] = [];
      const sseSlots = new StreamSlots(ctx.settings.limits.sseStreamsPerToken);
      const admissions = new AdmissionService(ctx, options.admitCidrs);
      for (const make of FEATURES) features.push(await make({ ctx, link, commands, jobs, tracker, nodes, artifacts, dataDir, replicaId, admissions, options, transports: link, audit, tls, sseSlots }));
      const cp = new ControlPlane(dataDir, ctx, app, link, commands, features);
      if (store.dialect === 'postgres') {
        const relay = new PgRelay(target, store.db, replicaId, log);
        await relay.start((m) => {
          if (m.kind === 'event') ctx.bus.publishLocal(m.event);
          else link.onRelay(m);
        });
        link.joinRelay(relay);
        ctx.bus.relay = relay;
        cp.relay = relay;
      }
      healthRoutes(app, store, () => cp.draining);
      await link.install(app);
      for (const f of features) f.publicRoutes?.(app);
      await api((scope) => {
        for (const f of features) f.routes?.(scope);
      });
      // A deep accept queue: a reconnect storm's burst of connections waits there instead of
      // having its SYNs dropped, which held /healthz (same port) up for seconds (docs/reconnect.md).
      await app.listen({ host, port, backlog: ctx.settings.limits.listenBacklog });
      // The start-up guard counts from here: no agent could come back before the listen. Counted
      // from the start of start(), a slow start (a loaded machine, a long migration) ate into it:
      // a start of 21 s left 69 s of a 90 s guard, and nodes still on their way back were marked
      // offline (docs/reconnect.md, "Start-up guard").
      ctx.startedAt = ctx.now();
      // After listening: a start that fails (port taken) must not make the token and so lose its "just created".
      const admin = await ensureAdminToken(store, dataDir, ctx.now());
      cp.adminTokenPath = admin.path;
      cp.adminTokenCreated = admin.created;
      const actual = (app.server.address() as AddressInfo).port;
      cp.url = urlFor(host, actual, tls !== null);
      cp.caPin = tls?.pin ?? null;
      cp.caFile = tls ? (options.tlsCert ?? caFiles(dataDir).cert) : null;
      writeEndpoint(dataDir, cp.url, cp.caFile);
      for (const f of features) await f.start?.();
      cp.startSweeps();
      log.info({ url: cp.url, db: store.dialect, dataDir, ...(tls ? { caPin: tls.pin, requireClientCert: tls.requireClientCert } : {}) }, 'control plane listening');
      return cp;
    } catch (err) {
      await ctx.bus.relay?.stop().catch(() => {});
      await store.close().catch(() => {});
      throw err;
    }
  }

  private startSweeps(): void {
    const tick = async () => {
      try {
        await this.link.sweep();
        const now = this.ctx.now();
        for (const f of this.features) await f.sweep?.(now);
      } catch (err) {
        this.ctx.log.error({ err }, 'sweep failed');
      }
    };
    this.sweepTimer = setInterval(() => {
      if (!this.sweeping) this.sweeping = tick().finally(() => (this.sweeping = null));
    }, this.ctx.settings.sweepIntervalMs);
  }

  /** Stops taking work: readiness fails, agent sockets and event streams close. */
  async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    await this.sweeping;
    for (const f of this.features) await f.drain?.();
    await this.link.close(1001, 'control plane shutting down');
  }

  async stop(): Promise<void> {
    await this.drain();
    await this.app.close();
    for (const f of [...this.features].reverse()) await f.stop?.();
    await this.relay?.stop();
    await this.ctx.store.close();
    this.ctx.log.info('control plane stopped');
  }

  close(): Promise<void> {
    return this.stop();
  }
}

/** Options, else the environment (a certificate path is not a secret, the key file's mode guards the key). */
function tlsChoice(o: ServerOptions): TlsChoice {
  const tlsCert = o.tlsCert ?? (process.env.STEWARD_TLS_CERT || undefined);
  const tlsKey = o.tlsKey ?? (process.env.STEWARD_TLS_KEY || undefined);
  return { tls: o.tls, tlsCert, tlsKey, tlsSans: o.tlsSans, insecure: o.insecure, requireClientCert: o.requireClientCert };
}

/** `caFile`: the PEM local tools (the CLI) trust for an https URL. */
function writeEndpoint(dataDir: string, url: string, caFile: string | null): void {
  const path = join(dataDir, ENDPOINT_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ url, pid: process.pid, ...(caFile ? { caFile } : {}) }) + '\n');
  renameSync(tmp, path);
}

function logOnlyAlerts(log: Logger): AlertSink {
  return {
    fire: async (a) => void log.warn({ alert: a }, `alert: ${a.summary}`),
    resolve: async (key, summary) => void log.info({ key }, `alert resolved: ${summary ?? key}`),
  };
}

export function startServer(options: ServerOptions = {}): Promise<ControlPlane> {
  return ControlPlane.start(options);
}
