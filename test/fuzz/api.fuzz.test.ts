import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { addAgent, startServerProcess, type AgentProc, type ServerProc } from '../support/processes.js';
import { fromSchema, type JsonSchema } from './schema-arbitrary.js';
import { FUZZ_RUNS, FUZZ_SEED, FUZZ_TIMEOUT_MS } from './runs.js';

interface Operation {
  method: string;
  path: string;
  params: string[];
  query: Record<string, JsonSchema>;
  body?: JsonSchema;
}

type Doc = { paths: Record<string, Record<string, { parameters?: { in: string; name: string; schema?: JsonSchema }[]; requestBody?: { content?: Record<string, { schema?: JsonSchema }> }; responses?: Record<string, { content?: Record<string, unknown> }> }>>; components?: { schemas?: Record<string, JsonSchema> } };

/** Inlines `#/components/schemas/X` references (bounded, for recursive schemas). */
function deref(doc: Doc, s: JsonSchema | undefined, depth = 0): JsonSchema | undefined {
  if (!s || depth > 8) return s;
  if (s.$ref) return deref(doc, doc.components?.schemas?.[s.$ref.split('/').pop()!], depth + 1);
  const out: JsonSchema = { ...s };
  if (s.properties) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, deref(doc, v, depth + 1)!]));
  if (s.items) out.items = deref(doc, s.items, depth + 1);
  for (const k of ['anyOf', 'oneOf', 'allOf'] as const) if (s[k]) out[k] = s[k]!.map((x) => deref(doc, x, depth + 1)!);
  return out;
}

/** Every operation of the OpenAPI document except event streams (they never end by design). */
function operations(doc: Doc): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const streams = Object.values(op.responses ?? {}).some((r) => Object.keys(r.content ?? {}).some((c) => c.includes('event-stream')));
      if (streams || path.endsWith('/events') || path.endsWith('/output')) continue;
      const params = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      const query = Object.fromEntries((op.parameters ?? []).filter((p) => p.in === 'query').map((p) => [p.name, deref(doc, p.schema) ?? {}]));
      const body = deref(doc, op.requestBody?.content?.['application/json']?.schema);
      ops.push({ method: method.toUpperCase(), path, params, query, ...(body ? { body } : {}) });
    }
  }
  return ops;
}

const pathValue = fc.oneof(
  fc.constantFrom('node_x', '..', '../../etc/passwd', '%00', 'a'.repeat(5000), '-1', '0', '💥', 'web-1', '*'),
  fc.string({ minLength: 1, maxLength: 30 }),
);

function requestArb(ops: Operation[]) {
  return fc.constantFrom(...ops).chain((op) =>
    fc.record({
      op: fc.constant(op),
      params: fc.tuple(...op.params.map(() => fc.tuple(pathValue, fc.boolean()))),
      query: fc.record(Object.fromEntries(Object.entries(op.query).map(([k, s]) => [k, fromSchema(s)])), { requiredKeys: [] }),
      body: op.body ? fromSchema(op.body) : fc.option(fc.jsonValue({ maxDepth: 2 }), { freq: 4 }),
      // Sometimes the body is not JSON at all, or says it is something else.
      raw: fc.option(fc.oneof(fc.string({ maxLength: 200 }), fc.constant('{"a":'), fc.constant('\u0000\u0001')), { freq: 8 }),
      contentType: fc.constantFrom('application/json', 'application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream'),
    }),
  );
}

/** Lone surrogates cannot be percent-encoded; what a client can send is their replacement. */
const wellFormed = (x: string) => x.replace(/[\ud800-\udfff]/g, '\ufffd');
const enc = (x: string) => encodeURIComponent(wellFormed(x));

function queryString(q: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    const values = Array.isArray(v) ? v : [v];
    for (const x of values) parts.push(`${enc(k)}=${enc(typeof x === 'string' ? x : JSON.stringify(x))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

describe('API fuzzing: every operation of the OpenAPI document', { timeout: FUZZ_TIMEOUT_MS }, () => {
  let server: ServerProc;
  let agent: AgentProc;
  const http = new Agent({ keepAliveTimeout: 10_000, pipelining: 1 });

  beforeAll(async () => {
    // The fuzzer sends the operator token to agent routes too (401 each) from one address: the
    // 429 after 20 failures a minute (docs/security.md, "Limits") would end the run early.
    server = await startServerProcess({ env: { STEWARD_LIMIT_AUTH_FAILURES: '1000000' } });
    agent = await addAgent(server, 'fuzz-web', ['role=web']);
  }, 120_000);

  afterAll(async () => {
    await agent?.kill();
    await server?.kill();
    await http.close();
  });

  it(`${FUZZ_RUNS} requests: no 500, no dropped connection, the control plane answering throughout`, async () => {
    const doc = (await server.client.openApi()) as Doc;
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThan(40);
    let n = 0;
    const health = async () => {
      const t0 = performance.now();
      const res = await request(`${server.url}/healthz`, { dispatcher: http, signal: AbortSignal.timeout(1000) });
      await res.body.dump();
      expect(res.statusCode).toBe(200);
      return performance.now() - t0;
    };
    let slowestHealth = 0;
    await fc.assert(
      fc.asyncProperty(requestArb(ops), async ({ op, params, query, body, raw, contentType }) => {
        let i = 0;
        const path = op.path.replace(/\{[^}]+\}/g, () => {
          const [v, encode] = params[i++]!;
          return encode ? enc(v) : wellFormed(v).replace(/[?#\s]/g, '_');
        });
        const hasBody = op.method !== 'GET' && op.method !== 'HEAD' && op.method !== 'DELETE';
        const payload = raw ?? (body === undefined || body === null ? undefined : JSON.stringify(body));
        const res = await request(`${server.url}${path}${queryString(query)}`, {
          dispatcher: http,
          method: op.method as 'GET',
          headers: { authorization: `Bearer ${server.token}`, ...(hasBody && payload !== undefined ? { 'content-type': contentType } : {}) },
          ...(hasBody && payload !== undefined ? { body: payload } : {}),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await res.body.text();
        if (res.statusCode >= 500) throw new Error(`${op.method} ${path} answered ${res.statusCode}: ${text.slice(0, 300)}`);
        // Every error has the documented shape.
        if (res.statusCode >= 400 && text) {
          const err = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
          if (typeof err?.code !== 'string' || typeof err.message !== 'string') throw new Error(`${op.method} ${path}: error without code/message: ${text.slice(0, 200)}`);
        }
        if (++n % 250 === 0) slowestHealth = Math.max(slowestHealth, await health());
        return true;
      }),
      { numRuns: FUZZ_RUNS, ...(FUZZ_SEED !== undefined ? { seed: FUZZ_SEED } : {}), endOnFailure: true },
    );
    await health();
    // Still doing its job: a real command on the real agent succeeds after the storm.
    const { command } = await server.client.submitCommand({ node: 'fuzz-web', type: 'exec.run', payload: { command: 'echo', args: ['alive'] } });
    expect((await server.client.getCommand(command.id, { wait: 30 })).state).toBe('succeeded');
    expect(server.child.exitCode).toBeNull();
    console.log(`api fuzz: ${n} requests over ${ops.length} operations; slowest /healthz ${slowestHealth.toFixed(0)} ms`);
  });
});
