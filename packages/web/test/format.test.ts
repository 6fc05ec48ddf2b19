import { describe, expect, it } from 'vitest';
import { uptime } from '../src/format.js';

describe('uptime', () => {
  it.each([
    [0, '0 min'],
    [59, '0 min'],
    [30 * 60, '30 min'],
    [59 * 60 + 59, '59 min'],
    [3600, '1 h 0 min'],
    [5 * 3600 + 12 * 60, '5 h 12 min'],
    [47 * 3600 + 59 * 60, '47 h 59 min'],
    [3 * 86_400 + 4 * 3600, '3 d 4 h'],
  ])('%d s → %s', (s, text) => {
    expect(uptime(s)).toBe(text);
  });
});
