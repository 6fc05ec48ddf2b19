import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy a test can cut and restore, to play a network failure between an
 * agent and the control plane without touching either process.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private frozen = false;
  private refusing = false;
  /** Connections reset while cut: each is a reconnect attempt the cut turned away. */
  refused = 0;
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(port = 0): Promise<number> {
    this.server = createServer((client) => {
      if (this.refusing) {
        this.refused++;
        client.resetAndDestroy();
        return;
      }
      if (this.frozen) {
        this.sockets.add(client);
        client.pause();
        return;
      }
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(port || this.port, '127.0.0.1', () => r()));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  /**
   * Stops forwarding without closing anything, as a partition or a NAT that forgot the flow
   * does: neither side gets a FIN or RST. New connections hang too, until `restore`.
   */
  freeze(): void {
    this.frozen = true;
    for (const s of this.sockets) s.pause();
  }

  /**
   * Drops every connection abruptly and resets new ones (counted in `refused`, so a test can
   * see the agent tried again and was turned away).
   */
  async cut(): Promise<void> {
    this.refusing = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** New connections pass again; flows from a frozen partition are gone for good (as a NAT that forgot them). */
  async restore(): Promise<void> {
    this.refusing = false;
    if (this.frozen) {
      this.frozen = false;
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
    }
  }

  async stop(): Promise<void> {
    const srv = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (srv) await new Promise<void>((r) => srv.close(() => r()));
  }
}
