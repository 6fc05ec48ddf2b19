import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHECK_STATES, CHECK_TRANSITIONS, nextCheckProgress, type CheckEdge, type CheckProgress, type CheckThresholds } from '../src/states.js';

const START: CheckProgress = { state: 'unknown', failures: 0, successes: 0 };

function runAll(results: boolean[], t: CheckThresholds): { states: CheckProgress[]; edges: CheckEdge[] } {
  let p = START;
  const states: CheckProgress[] = [];
  const edges: CheckEdge[] = [];
  for (const ok of results) {
    const { next, edge } = nextCheckProgress(p, ok, t);
    states.push(next);
    edges.push(edge);
    p = next;
  }
  return { states, edges };
}

describe('check hysteresis', () => {
  const t = { failuresBeforeFiring: 3, successesBeforeResolving: 2 };

  it('goes ok → failing(n) → firing → recovering(n) → ok', () => {
    const { states, edges } = runAll([true, false, false, false, false, true, true], t);
    expect(states.map((s) => `${s.state}${s.state === 'failing' ? s.failures : s.state === 'recovering' ? s.successes : ''}`)).toEqual([
      'ok',
      'failing1',
      'failing2',
      'firing',
      'firing',
      'recovering1',
      'ok',
    ]);
    expect(edges).toEqual([null, null, null, 'fired', null, null, 'resolved']);
  });

  it('a success while failing starts the count again, and a failure while recovering goes back to firing', () => {
    const { states, edges } = runAll([false, false, true, false, false, false, true, false, true, true], t);
    expect(states.map((s) => s.state)).toEqual(['failing', 'failing', 'ok', 'failing', 'failing', 'firing', 'recovering', 'firing', 'recovering', 'ok']);
    expect(edges.filter(Boolean)).toEqual(['fired', 'resolved']);
  });

  it('with thresholds of 1 it fires and resolves on the first result', () => {
    const { edges } = runAll([false, true], { failuresBeforeFiring: 1, successesBeforeResolving: 1 });
    expect(edges).toEqual(['fired', 'resolved']);
  });

  it('every state change is in the transition table', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 60 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), (results, f, s) => {
        let prev = START.state;
        for (const p of runAll(results, { failuresBeforeFiring: f, successesBeforeResolving: s }).states) {
          if (p.state !== prev) expect(CHECK_TRANSITIONS[prev]).toContain(p.state);
          prev = p.state;
        }
      }),
    );
    for (const s of CHECK_STATES) expect(CHECK_TRANSITIONS[s]).not.toContain(s);
  });

  it('never flaps: a fire follows N failures in a row, a resolve N successes in a row, and they alternate', () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { maxLength: 80 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        (results, failuresBeforeFiring, successesBeforeResolving) => {
          const { states, edges } = runAll(results, { failuresBeforeFiring, successesBeforeResolving });
          let expectNext: CheckEdge = 'fired';
          edges.forEach((edge, i) => {
            if (!edge) return;
            expect(edge).toBe(expectNext);
            expectNext = edge === 'fired' ? 'resolved' : 'fired';
            const need = edge === 'fired' ? failuresBeforeFiring : successesBeforeResolving;
            const want = edge === 'resolved';
            const window = results.slice(i + 1 - need, i + 1);
            expect(window).toHaveLength(need);
            expect(window.every((r) => r === want)).toBe(true);
          });
          // The model: alerting iff the last fire is later than the last resolve.
          const alerting = states.map((p) => p.state === 'firing' || p.state === 'recovering');
          let open = false;
          edges.forEach((edge, i) => {
            if (edge === 'fired') open = true;
            if (edge === 'resolved') open = false;
            expect(alerting[i]).toBe(open);
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});
