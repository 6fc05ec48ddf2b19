// Preloaded into the restarted control plane by the storm bench (`node --import …`): every 250 ms
// appends one JSON line to $STEWARD_BENCH_LOOP_FILE with the event loop's longest delay in that
// slice (perf_hooks.monitorEventLoopDelay), how many connections the kernel dropped from a
// full accept queue meanwhile (ListenOverflows in /proc/net/netstat) and how many it established
// (PassiveOpens in /proc/net/snmp: the storm's arrival rate); both machine-wide, Linux only.
// The bench lines these up with its slowest /healthz answers: a blocked event loop, or a full
// accept queue (SYN dropped, the client retries after 1, 3, 7 s)? Nothing of the server is touched.
import { appendFileSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const out = process.env.STEWARD_BENCH_LOOP_FILE;
if (out) {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  /** A counter of a /proc/net table (`prefix` `TcpExt:` of netstat, `Tcp:` of snmp): header line, then values. */
  const counter = (file, prefix, name) => {
    try {
      const [head, values] = readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith(prefix));
      return Number(values.split(' ')[head.split(' ').indexOf(name)]);
    } catch {
      return 0;
    }
  };
  const overflows = () => counter('/proc/net/netstat', 'TcpExt:', 'ListenOverflows');
  const opens = () => counter('/proc/net/snmp', 'Tcp:', 'PassiveOpens');
  let last = overflows();
  let lastOpens = opens();
  const timer = setInterval(() => {
    const now = overflows();
    const nowOpens = opens();
    appendFileSync(out, `${JSON.stringify({ at: Date.now(), loopMaxMs: Math.round(delay.max / 1e6), overflows: now - last, opens: nowOpens - lastOpens })}\n`);
    last = now;
    lastOpens = nowOpens;
    delay.reset();
  }, 250);
  timer.unref();
}
