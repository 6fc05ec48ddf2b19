// A discrete model of the reconnect storm (docs/reconnect.md): N agents with the agent's backoff
// (packages/agent/src/backoff.ts: full jitter, a capped run after a welcome of `tries` retries and
// `win` ms), a control plane listening L ms after the kill that admits by a token bucket (A/s,
// burst B), serves at most C hellos/s and books refusals as agents/admission.ts does (Retry-After
// cap `cap` s). No CPU, sockets or loop: what the backoff and the admission alone do to the tail.
// node bench/storm-model.mjs N=10000 L=26000 C=350 win=60000
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')));
const N = +(args.N ?? 10000), L = +(args.L ?? 7000), A = +(args.A ?? 500), B = +(args.B ?? 500), C = +(args.C ?? 400);
const CAP = +(args.cap ?? 10), JIT = +(args.jit ?? 3), seed = +(args.seed ?? 1), RCAP = +(args.rcap ?? 8000);
let s = seed; const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
const TRIES = +(args.tries ?? 8);
const WIN = +(args.win ?? 0);
const draw = (k, t = 0) => {
  if (k < TRIES || t < WIN) return Math.floor(rnd() * Math.min(RCAP, 1000 * 2 ** Math.min(k, 30)));
  const capStep = Math.ceil(Math.log2(RCAP / 1000));
  return Math.floor(rnd() * Math.min(60000, 1000 * 2 ** Math.min(capStep + 1 + (k - TRIES), 30)));
};
// binary heap of [time, agent]
const heap = [];
const push = (e) => { heap.push(e); let i = heap.length - 1; while (i > 0) { const p = (i - 1) >> 1; if (heap[p][0] <= heap[i][0]) break; [heap[p], heap[i]] = [heap[i], heap[p]]; i = p; } };
const pop = () => { const top = heap[0], last = heap.pop(); if (heap.length) { heap[0] = last; let i = 0; for (;;) { const l = 2 * i + 1, r = l + 1; let m = i; if (l < heap.length && heap[l][0] < heap[m][0]) m = l; if (r < heap.length && heap[r][0] < heap[m][0]) m = r; if (m === i) break; [heap[m], heap[i]] = [heap[i], heap[m]]; i = m; } } return top; };
const step = new Int32Array(N); const back = [];
for (let i = 0; i < N; i++) { push([rnd() * 100 + draw(0), i]); step[i] = 1; }
let tokens = B, tokAt = L, booked = 0, refusals = 0;
const perSec = {}, arrivals = {};
while (heap.length) {
  const [t, i] = pop();
  if (t < L) { push([t + draw(step[i]++, t), i]); continue; }
  const sec = Math.floor((t - L) / 1000); arrivals[sec] = (arrivals[sec] ?? 0) + 1;
  tokens = Math.min(B, tokens + ((t - tokAt) * A) / 1000); tokAt = t;
  const cnt = perSec[sec] ?? 0;
  if (tokens >= 1 && cnt < C) { tokens--; back.push(t - L); perSec[sec] = cnt + 1; continue; }
  refusals++;
  const rate = Math.min(A, C);
  booked = Math.min(Math.max(booked, t) + 1000 / rate, t + CAP * 1000);
  const ra = Math.min(CAP, Math.max(1, Math.ceil((booked - t) / 1000) + Math.floor(rnd() * JIT)));
  const ms = ra * 1000;
  push([t + ms + rnd() * Math.min(1000, ms / 5), i]);
}
back.sort((a, b) => a - b);
console.log(`win=${WIN} tries=${TRIES} N=${N} L=${L} A=${A} B=${B} C=${C} cap=${CAP} rcap=${RCAP}: all back ${(back[N - 1] / 1000).toFixed(1)} s, 50/90 % ${(back[N / 2] / 1000).toFixed(1)}/${(back[Math.floor(N * 0.9)] / 1000).toFixed(1)}, refusals ${refusals}, arrivals s0..4 ${[0, 1, 2, 3, 4].map((k) => arrivals[k]).join(',')}`);
