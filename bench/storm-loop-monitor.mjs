// Preloaded into the restarted control plane by the storm bench (`node --import …`): every 250 ms
// appends one JSON line to $STEWARD_BENCH_LOOP_FILE with the event loop's longest delay in that
// slice (perf_hooks.monitorEventLoopDelay) and how many connections the kernel dropped from a
// full accept queue meanwhile (ListenOverflows in /proc/net/netstat; machine-wide, Linux only).
// The bench lines these up with its slowest /healthz answers: a blocked event loop, or a full
// accept queue (SYN dropped, the client retries after 1, 3, 7 s)? Nothing of the server is touched.
import { appendFileSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const out = process.env.STEWARD_BENCH_LOOP_FILE;
if (out) {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const overflows = () => {
    try {
      const [head, values] = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
      return Number(values.split(' ')[head.split(' ').indexOf('ListenOverflows')]);
    } catch {
      return 0;
    }
  };
  let last = overflows();
  const timer = setInterval(() => {
    const now = overflows();
    appendFileSync(out, `${JSON.stringify({ at: Date.now(), loopMaxMs: Math.round(delay.max / 1e6), overflows: now - last })}\n`);
    last = now;
    delay.reset();
  }, 250);
  timer.unref();
}
