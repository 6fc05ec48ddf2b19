import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import WebSocket from 'ws';
import type { SqlSnapshot } from './sql-trace.js';

/**
 * Talks to the control plane's V8 inspector: samples its CPU for exactly the measured window
 * (`--profile`) so setup (enrollment, connects) does not drown the picture, and reads the SQL
 * timings the `--sql-stats` preload keeps (`bench/sql-trace.ts`).
 */
export class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
      if (msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result);
    });
  }

  static async connect(url: string): Promise<Inspector> {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1024 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new Inspector(ws);
  }

  private send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async startProfile(intervalUs = 1000): Promise<void> {
    await this.send('Profiler.enable');
    await this.send('Profiler.setSamplingInterval', { interval: intervalUs });
    await this.send('Profiler.start');
  }

  async stopProfile(): Promise<CpuProfile> {
    const { profile } = (await this.send('Profiler.stop')) as { profile: CpuProfile };
    return profile;
  }

  /** Evaluates an expression in the control plane and returns its JSON value. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = (await this.send('Runtime.evaluate', { expression, returnByValue: true })) as {
      result: { value?: T };
      exceptionDetails?: { text: string };
    };
    if (r.exceptionDetails) throw new Error(`inspector: ${expression}: ${r.exceptionDetails.text}`);
    return r.result.value as T;
  }

  close(): void {
    this.ws.close();
  }
}

/** Starts/stops whatever was asked for around a measured window. */
export class WindowProbe {
  private constructor(
    private readonly inspector: Inspector,
    private readonly want: { profile: boolean; sql: boolean },
  ) {}

  static async open(inspectorUrl: string | null, want: { profile: boolean; sql: boolean }): Promise<WindowProbe | null> {
    if (!want.profile && !want.sql) return null;
    if (!inspectorUrl) throw new Error('the control plane has no inspector URL (was it started with inspect?)');
    return new WindowProbe(await Inspector.connect(inspectorUrl), want);
  }

  async begin(): Promise<void> {
    if (this.want.sql) await this.inspector.evaluate('globalThis.__stewardBenchSql.reset()');
    if (this.want.profile) await this.inspector.startProfile();
  }

  async end(): Promise<{ profile?: CpuProfile; sql?: SqlSnapshot }> {
    const profile = this.want.profile ? await this.inspector.stopProfile() : undefined;
    const sql = this.want.sql ? await this.inspector.evaluate<SqlSnapshot>('globalThis.__stewardBenchSql.snapshot()') : undefined;
    this.inspector.close();
    return { ...(profile ? { profile } : {}), ...(sql ? { sql } : {}) };
  }
}

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export function saveProfile(path: string, profile: CpuProfile): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(profile));
}

/** What a frame belongs to: an npm package, a Steward source file, a node: module, or V8 itself. */
export function categoryOf(frame: CpuProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName || '(anonymous)'}`;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const pk = /\/packages\/([^/]+)\/src\/(.+)$/.exec(url);
  if (pk) return `@steward/${pk[1]} ${pk[2]}`;
  if (url.startsWith('node:')) return url;
  return url;
}

export interface ProfileSummary {
  totalMs: number;
  /** Self time by category (package / file), descending. */
  selfByCategory: { category: string; ms: number; pct: number }[];
  /** Self time by function, descending. */
  selfByFunction: { fn: string; ms: number; pct: number }[];
  /** Inclusive (anywhere on the stack) time for chosen Steward functions. */
  inclusive: { fn: string; ms: number; pct: number }[];
}

function fnName(f: CpuProfileNode['callFrame']): string {
  const cat = categoryOf(f);
  return `${f.functionName || '(anonymous)'} ${f.url ? `[${cat}:${f.lineNumber + 1}]` : ''}`.trim();
}

export function summarizeProfile(p: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  let total = 0;
  const cat = new Map<string, number>();
  const fn = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const [id, us] of self) {
    total += us;
    const frame = byId.get(id)!.callFrame;
    const c = categoryOf(frame);
    cat.set(c, (cat.get(c) ?? 0) + us);
    const f = fnName(frame);
    fn.set(f, (fn.get(f) ?? 0) + us);
    // Inclusive: every distinct Steward function on the path to the root.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const fr = byId.get(cur)!.callFrame;
      if (!fr.url.includes('/packages/')) continue;
      const name = fnName(fr);
      if (seen.has(name)) continue;
      seen.add(name);
      incl.set(name, (incl.get(name) ?? 0) + us);
    }
  }
  const rank = <K extends string>(m: Map<string, number>, key: K, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => ({ [key]: k, ms: Math.round(us / 100) / 10, pct: Math.round((us / total) * 1000) / 10 }) as Record<K, string> & { ms: number; pct: number });
  return {
    totalMs: Math.round(total / 1000),
    selfByCategory: rank(cat, 'category', top),
    selfByFunction: rank(fn, 'fn', top),
    inclusive: rank(incl, 'fn', top),
  };
}

export function printProfileSummary(title: string, s: ProfileSummary): string {
  const out: string[] = [`\n== control-plane CPU profile: ${title} (${s.totalMs} ms sampled) ==`];
  out.push('-- self time by package / file --');
  for (const r of s.selfByCategory) out.push(`${r.ms.toFixed(1).padStart(9)} ms ${r.pct.toFixed(1).padStart(5)}%  ${r.category}`);
  out.push('-- self time by function --');
  for (const r of s.selfByFunction) out.push(`${r.ms.toFixed(1).padStart(9)} ms ${r.pct.toFixed(1).padStart(5)}%  ${r.fn}`);
  out.push('-- inclusive time, Steward functions (synchronous part of each call) --');
  for (const r of s.inclusive) out.push(`${r.ms.toFixed(1).padStart(9)} ms ${r.pct.toFixed(1).padStart(5)}%  ${r.fn}`);
  return out.join('\n');
}

export function printSqlSnapshot(title: string, s: SqlSnapshot, windowMs: number, top = 15): string {
  const execMs = s.statements.reduce((t, x) => t + x.ms, 0);
  const calls = s.statements.reduce((t, x) => t + x.calls, 0);
  const out = [
    `\n== control-plane SQL (better-sqlite3) in the window: ${title} ==`,
    `${calls} statement executions, ${execMs.toFixed(1)} ms executing (${((execMs / windowMs) * 100).toFixed(1)}% of the ${Math.round(windowMs)} ms window); ` +
      `${s.prepares} prepares, ${s.prepareMs.toFixed(1)} ms preparing`,
    '       ms   calls  µs/call     rows  statement',
  ];
  for (const x of s.statements.slice(0, top)) {
    out.push(`${x.ms.toFixed(1).padStart(9)} ${String(x.calls).padStart(7)} ${String(x.usPerCall).padStart(8)} ${String(x.rows).padStart(8)}  ${x.sql}`);
  }
  return out.join('\n');
}
