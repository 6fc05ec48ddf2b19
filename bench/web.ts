import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import pino from 'pino';
import { newId, type Stats } from '@steward/protocol';
import { ensureBundle, WEB_DIST } from '../packages/server/src/dashboard/bundle.js';
import { insertNode } from '../packages/server/src/store/queries/nodes.js';
import { Store } from '../packages/server/src/store/store.js';
import type { NodesTable } from '../packages/server/src/store/schema.js';
import { startControlPlane, type Launcher } from './control-plane-process.js';
import { makeTempDir } from './processes.js';
import { simInventory } from './sim-agent.js';
import { percentile } from './stats.js';

export interface WebOptions {
  nodes: number;
  runs: number;
  launcher: Launcher;
  log: (line: string) => void;
}

export interface WebResult {
  /** Every JavaScript file the page loads, gzipped (level 9, as a server would send it). */
  jsGzipBytes: number;
  jsRawBytes: number;
  cssGzipBytes: number;
  assets: { file: string; rawBytes: number; gzipBytes: number }[];
  nodes: number;
  /** GET /api/v1/dashboard/nodes with every node: time and size. */
  listMs: number;
  listBytes: number;
  /** Navigation start → the nodes table rendered with its rows (performance marks in the page), ms. */
  firstRenderColdMs: number;
  firstRenderWarm: { p50: number; max: number; runs: number };
  /** The same, to the first frame painted after the rows were committed. */
  firstPaintColdMs: number;
  /** Where the cold run's time went: script downloaded, node list requested and received, ms after navigation. */
  coldBreakdown: { scriptLoadedMs: number; apiRequestedMs: number; apiReceivedMs: number };
  rowsInDom: number;
}

const CHROMIUM = process.env.STEWARD_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function seedStats(i: number, now: number): Stats {
  const total = 8 * 1024 ** 3;
  return {
    collectedAt: now,
    cpu: { usagePercent: (i * 37) % 100, cores: 4 },
    load: [((i * 7) % 400) / 100, 1, 0.5],
    memory: { totalBytes: total, availableBytes: total * 0.4, usedBytes: total * (((i * 13) % 90) / 100) },
    disks: [{ mount: '/', fs: 'ext4', totalBytes: 100e9, usedBytes: ((i * 11) % 95) * 1e9, availableBytes: 5e9 }],
    network: [{ iface: 'eth0', rxBytes: 1, txBytes: 1 }],
    uptimeSeconds: 1000,
    agentUptimeSeconds: 100,
  };
}

/** N nodes straight into the control plane's SQLite file (WAL: fine beside the running server). */
async function seed(dbPath: string, n: number): Promise<void> {
  const store = await Store.open(dbPath);
  const now = Date.now();
  const width = String(n).length;
  const zones = ['eu1', 'eu2', 'us1', 'ap1'];
  try {
    await store.tx(async (db) => {
      for (let i = 0; i < n; i++) {
        const name = `web-${String(i + 1).padStart(width, '0')}`;
        const row: Omit<NodesTable, 'protocol' | 'external_id'> = {
          id: newId('node'),
          name,
          credential_hash: `bench-${i}`,
          status: i % 10 === 0 ? 'offline' : 'online',
          labels: JSON.stringify({ zone: zones[i % zones.length], role: i % 3 ? 'web' : 'db' }),
          inventory: JSON.stringify(simInventory(name)),
          stats: JSON.stringify(seedStats(i, now)),
          heartbeat_interval_ms: 15_000,
          connection_id: null,
          last_seen_at: now - (i % 60) * 1000,
          status_changed_at: now,
          created_at: now,
        };
        await insertNode(db, row);
      }
    });
  } finally {
    await store.close();
  }
}

/**
 * The dashboard's budget: the JavaScript it ships (gzipped) and how long the nodes view takes
 * to show a fleet of N nodes in chromium, from navigation to rows on screen.
 */
export async function runWeb(o: WebOptions): Promise<WebResult> {
  if (!(await ensureBundle(pino({ level: 'warn' })))) throw new Error('could not build packages/web');
  const assets = readdirSync(join(WEB_DIST, 'assets')).map((file) => {
    const raw = readFileSync(join(WEB_DIST, 'assets', file));
    return { file, rawBytes: raw.length, gzipBytes: gzipSync(raw, { level: 9 }).length };
  });
  const js = assets.filter((a) => a.file.endsWith('.js'));
  const css = assets.filter((a) => a.file.endsWith('.css'));
  const jsGzipBytes = js.reduce((s, a) => s + a.gzipBytes, 0);
  o.log(`web: ${js.length} JS file(s), ${(jsGzipBytes / 1024).toFixed(1)} KiB gzipped`);

  const cp = await startControlPlane({ launcher: o.launcher });
  const profile = makeTempDir('chromium');
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 900 } });
  try {
    o.log(`web: seeding ${o.nodes} nodes into ${cp.dataDir}`);
    await seed(join(cp.dataDir, 'steward.db'), o.nodes);

    const t0 = performance.now();
    const res = await fetch(`${cp.url}/api/v1/dashboard/nodes`, { headers: { authorization: `Bearer ${cp.token}` } });
    const body = await res.text();
    const listMs = performance.now() - t0;
    const count = (JSON.parse(body) as { items: unknown[] }).items.length;
    if (count !== o.nodes) throw new Error(`expected ${o.nodes} nodes from the API, got ${count}`);

    const page = context.pages()[0] ?? (await context.newPage());
    const measure = async (): Promise<{ rendered: number; painted: number; rows: number; scriptEnd: number; apiStart: number; apiEnd: number }> => {
      await page.waitForFunction(
        () => performance.getEntriesByName('steward:nodes-painted').length > 0 && document.querySelectorAll('[role=row][data-row-key]').length > 0,
        undefined,
        { timeout: 30_000, polling: 10 },
      );
      return page.evaluate(() => {
        const res = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
        const api = res.find((r) => r.name.includes('/api/v1/dashboard/nodes'));
        const script = res.find((r) => r.name.includes('/assets/') && r.name.endsWith('.js'));
        return {
          rendered: performance.getEntriesByName('steward:nodes-rendered')[0]!.startTime,
          painted: performance.getEntriesByName('steward:nodes-painted')[0]!.startTime,
          rows: document.querySelectorAll('[role=row][data-row-key]').length,
          scriptEnd: script?.responseEnd ?? 0,
          apiStart: api?.startTime ?? 0,
          apiEnd: api?.responseEnd ?? 0,
        };
      });
    };
    // The browser's own start-up (renderer process, first compile) is not the page's cost: warm
    // it on a blank page. The HTTP cache stays empty, so the first run fetches every asset.
    await page.goto('data:text/html,<p>warm-up</p>');
    // The fragment signs in (the page moves the token to session storage).
    await page.goto(`${cp.url}/nodes#token=${encodeURIComponent(cp.token)}`);
    const cold = await measure();
    o.log(
      `web: cold ${cold.rendered.toFixed(0)} ms to rows (${cold.rows} row elements for ${o.nodes} nodes); ` +
        `script loaded at ${cold.scriptEnd.toFixed(0)} ms, API ${cold.apiStart.toFixed(0)}→${cold.apiEnd.toFixed(0)} ms`,
    );
    const warm: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      await page.reload();
      warm.push((await measure()).rendered);
    }
    o.log(`web: warm ${warm.map((w) => w.toFixed(0)).join(', ')} ms`);
    return {
      jsGzipBytes,
      jsRawBytes: js.reduce((s, a) => s + a.rawBytes, 0),
      cssGzipBytes: css.reduce((s, a) => s + a.gzipBytes, 0),
      assets,
      nodes: o.nodes,
      listMs: Math.round(listMs),
      listBytes: body.length,
      firstRenderColdMs: Math.round(cold.rendered),
      firstPaintColdMs: Math.round(cold.painted),
      coldBreakdown: { scriptLoadedMs: Math.round(cold.scriptEnd), apiRequestedMs: Math.round(cold.apiStart), apiReceivedMs: Math.round(cold.apiEnd) },
      firstRenderWarm: { p50: Math.round(percentile([...warm].sort((a, b) => a - b), 0.5)), max: Math.round(Math.max(...warm)), runs: warm.length },
      rowsInDom: cold.rows,
    };
  } finally {
    await context.close();
    await cp.stop();
  }
}
