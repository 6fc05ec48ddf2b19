#!/usr/bin/env node
// GET <url>/healthz every <everyMs> ms from its own process (so the bench's own event loop, busy
// with thousands of simulated agents, does not delay the probe), each request independent of
// the others; prints one JSON line per answer: {"at": epoch ms sent, "ms": latency, "status"} or
// {"at", "error"} when it did not connect (the control plane is down). Stops on SIGTERM.
const [url, everyArg] = process.argv.slice(2);
const every = Number(everyArg ?? 100);
if (!url) {
  console.error('usage: healthz-probe.mjs <base-url> [everyMs]');
  process.exit(2);
}
const timer = setInterval(() => {
  const at = Date.now();
  const t0 = performance.now();
  fetch(`${url}/healthz`, { signal: AbortSignal.timeout(30_000) })
    .then(async (res) => {
      await res.arrayBuffer();
      process.stdout.write(`${JSON.stringify({ at, ms: Math.round((performance.now() - t0) * 10) / 10, status: res.status })}\n`);
    })
    .catch((err) => process.stdout.write(`${JSON.stringify({ at, error: String(err?.cause?.code ?? err?.name ?? err) })}\n`));
}, every);
process.on('SIGTERM', () => {
  clearInterval(timer);
  setTimeout(() => process.exit(0), 50);
});
