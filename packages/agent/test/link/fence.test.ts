import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TaskFence } from '@steward/protocol';
import { FenceClock } from '../../src/link/fence.js';

const FENCE: TaskFence = { afterMs: 3000, killGraceMs: 500, marginMs: 1000 };

describe('the fence clock (task fencing, agent side)', () => {
  let fired: number[];
  let clock: FenceClock;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    fired = [];
    clock = new FenceClock((_f, silentMs) => fired.push(Math.round(silentMs)));
  });
  afterEach(() => {
    clock.stop();
    vi.useRealTimers();
  });

  it('counts from the sending of the hello the welcome answered, and fires at the fence time', () => {
    clock.helloSent();
    vi.advanceTimersByTime(400); // the welcome takes a while: the clock still counts from the hello
    clock.welcomed(FENCE);
    vi.advanceTimersByTime(2599);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([3000]);
    // While still unacknowledged it fires again (a task started meanwhile is stopped too).
    vi.advanceTimersByTime(300);
    expect(fired).toEqual([3000, 3300]);
  });

  it('an acknowledged heartbeat restarts it from that heartbeat’s sending, not from the ack', () => {
    clock.helloSent();
    clock.welcomed(FENCE);
    vi.advanceTimersByTime(1000);
    clock.heartbeatSent(0); // sent at 1000
    vi.advanceTimersByTime(1500);
    clock.acked(0); // acknowledged at 2500
    clock.acked(7); // never sent: ignored
    vi.advanceTimersByTime(1499); // 3999: 2999 since the heartbeat's sending
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([3000]);
  });

  it('a late ack of an older heartbeat does not move the clock back; a newer one moves it on', () => {
    clock.helloSent();
    clock.welcomed(FENCE);
    clock.heartbeatSent(0);
    vi.advanceTimersByTime(1000);
    clock.heartbeatSent(1);
    clock.acked(1);
    clock.acked(0); // dropped once 1 was acknowledged
    vi.advanceTimersByTime(2999);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([3000]);
  });

  it('a control plane without fencing (no fence in its welcome) never fences; a new fence applies at once', () => {
    clock.helloSent();
    clock.welcomed(undefined);
    expect(clock.current).toBeNull();
    vi.advanceTimersByTime(60_000);
    expect(fired).toEqual([]);
    // A `config` with a fence: counted from the hello's sending (60 s ago), so it fires at once.
    clock.configure(FENCE);
    vi.advanceTimersByTime(0);
    expect(fired).toEqual([60_000]);
  });
});
