import type { Fleet } from './fleet.js';

/** mulberry32: small, fast and the same on every machine, so `--seed` replays the same choices. */
export function seededRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const FAULT_KINDS = ['agent-kill', 'replica-kill', 'proxy-cut', 'proxy-freeze', 'pg-restart'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultEvent {
  kind: FaultKind;
  target: string;
  at: number;
  /** When the fault was healed (the process restarted, the proxy restored, PostgreSQL back). */
  healedAt: number;
  /** How long the target stayed down, cut or frozen. */
  downMs: number;
}

/**
 * Two loops of faults, each one fault at a time with a random pause between: one on the edge
 * (kill -9 an agent, cut or freeze an agent's connections) and one on the core (kill -9 a
 * replica, restart PostgreSQL). Keeping the core serial means a replica is only restarted while
 * PostgreSQL is up (a replica does not start without its store), and at least one replica is
 * up at any time. Each loop first goes through all its kinds in a shuffled order, so even a
 * short soak injects every kind at least once.
 */
export class FaultInjector {
  readonly events: FaultEvent[] = [];
  readonly counts: Record<FaultKind, number> = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  private stopping = false;
  private loops: Promise<void>[] = [];
  /** Wakes the loops' pauses when stopping. */
  private wake: (() => void)[] = [];

  constructor(
    private readonly fleet: Fleet,
    private readonly rng: () => number,
    private readonly log: (s: string) => void,
    /** Pause between two faults of one loop, ms. */
    private readonly gapMs: [number, number] = [2000, 6000],
  ) {}

  start(): void {
    this.loops = [
      this.loop(['agent-kill', 'proxy-cut', 'proxy-freeze']),
      this.loop(['replica-kill', 'pg-restart']),
    ];
  }

  /** Ends both loops once their current fault is healed; returns when everything is back. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const w of this.wake.splice(0)) w();
    await Promise.all(this.loops);
  }

  private between(lo: number, hi: number): number {
    return Math.round(lo + this.rng() * (hi - lo));
  }

  private pause(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(r, ms);
      this.wake.push(() => {
        clearTimeout(t);
        r();
      });
    });
  }

  /** A pause that a stop does not cut short: a fault keeps its length once started. */
  private hold(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }

  private async loop(kinds: FaultKind[]): Promise<void> {
    const deck = [...kinds];
    for (let i = deck.length - 1; i > 0; i--) {
      const j = Math.floor(this.rng() * (i + 1));
      [deck[i], deck[j]] = [deck[j]!, deck[i]!];
    }
    while (!this.stopping) {
      await this.pause(this.between(...this.gapMs));
      if (this.stopping) break;
      const kind = deck.shift() ?? kinds[Math.floor(this.rng() * kinds.length)]!;
      try {
        await this.inject(kind);
      } catch (e) {
        // A fault that could not be healed (a replica that did not come back) ends the soak's value: say so loudly.
        this.log(`fault ${kind} failed: ${(e as Error).stack ?? String(e)}`);
        throw e;
      }
    }
  }

  private async inject(kind: FaultKind): Promise<void> {
    const f = this.fleet;
    const at = Date.now();
    let target = '';
    let downMs = 0;
    switch (kind) {
      case 'agent-kill': {
        const i = Math.floor(this.rng() * f.agents.length);
        target = f.agents[i]!.name;
        downMs = this.between(0, 2000);
        await f.killAgent(i);
        await this.hold(downMs);
        f.restartAgent(i);
        break;
      }
      case 'proxy-cut':
      case 'proxy-freeze': {
        const i = Math.floor(this.rng() * f.agents.length);
        const a = f.agents[i]!;
        target = a.name;
        // Sometimes longer than the offline threshold (3 s in FAST_TIMINGS), sometimes shorter.
        downMs = this.between(500, 6000);
        for (const p of a.proxies) {
          if (kind === 'proxy-cut') await p.cut();
          else p.freeze();
        }
        await this.hold(downMs);
        for (const p of a.proxies) await p.restore();
        break;
      }
      case 'replica-kill': {
        const i = Math.floor(this.rng() * f.servers.length);
        target = `replica-${i}`;
        downMs = this.between(200, 3000);
        await f.killReplica(i);
        await this.hold(downMs);
        await f.restartReplica(i);
        break;
      }
      case 'pg-restart': {
        target = 'postgresql';
        downMs = this.between(500, 5000);
        await f.stopPg();
        await this.hold(downMs);
        await f.startPg();
        break;
      }
    }
    this.counts[kind]++;
    const healedAt = Date.now();
    this.events.push({ kind, target, at, healedAt, downMs });
    this.log(`fault ${kind} ${target}: down ${downMs} ms, healed after ${healedAt - at} ms`);
  }
}
