import { describe, expect, it } from 'vitest';
import { findAfterCycle, startOrder } from '../src/service-order.js';

describe('service start order', () => {
  it('finds cycles of any length, self-references included, and names them from the first service', () => {
    expect(findAfterCycle([{ name: 'a', after: ['b'] }, { name: 'b', after: ['a'] }])).toEqual(['a', 'b', 'a']);
    expect(findAfterCycle([{ name: 'c', after: ['b'] }, { name: 'a', after: ['c'] }, { name: 'b', after: ['a'] }])).toEqual(['c', 'b', 'a', 'c']);
    expect(findAfterCycle([{ name: 'd', after: ['d'] }])).toEqual(['d', 'd']);
    // A diamond and names of services that are not there are no cycle.
    expect(findAfterCycle([{ name: 'a', after: ['b', 'c'] }, { name: 'b', after: ['d'] }, { name: 'c', after: ['d', 'x'] }, { name: 'd' }])).toBeNull();
  });

  it('orders by after first, then priority, then name; cycle members go last', () => {
    const names = (l: { name: string }[]) => l.map((s) => s.name);
    expect(names(startOrder([{ name: 'app', priority: -5, after: ['db'] }, { name: 'web' }, { name: 'db', priority: 5 }]))).toEqual(['web', 'db', 'app']);
    expect(names(startOrder([{ name: 'b' }, { name: 'a' }, { name: 'z', priority: -1 }, { name: 'y', after: ['gone'] }]))).toEqual(['z', 'a', 'b', 'y']);
    expect(names(startOrder([{ name: 'p', after: ['q'] }, { name: 'q', after: ['p'] }, { name: 'r', priority: 9 }]))).toEqual(['r', 'p', 'q']);
  });
});
