import { describe, expect, it } from 'vitest';
import { ago, bytes, countsText, elapsed, labelsText, span, table, until } from '../src/format.js';

describe('ago', () => {
  const now = 1_700_000_000_000;
  it.each([
    [now - 3000, '3s ago'],
    [now - 59_999, '59s ago'],
    [now - 60_000, '1m ago'],
    [now - 3_600_000 * 5, '5h ago'],
    [now - 86_400_000 * 3, '3d ago'],
    [now - 200, 'just now'],
    [now + 90_000, 'in 1m'],
  ])('%d → %s', (ts, text) => {
    expect(ago(ts, now)).toBe(text);
  });

  it('says never for a node that was never seen', () => {
    expect(ago(null, now)).toBe('never');
  });

  it('until counts down and then up', () => {
    expect(until(now + 3_600_000, now)).toBe('in 1h');
    expect(until(now - 120_000, now)).toBe('2m ago');
  });

  it('span keeps hours up to two days', () => {
    expect(span(47 * 3_600_000)).toBe('47h');
    expect(span(48 * 3_600_000)).toBe('2d');
  });
});

describe('bytes', () => {
  it.each([
    [512, '512B'],
    [1024, '1Ki'],
    [1536, '1.5Ki'],
    [8 * 1024 ** 3, '8Gi'],
    [7.63 * 1024 ** 3, '7.6Gi'],
    [300 * 1024 ** 2, '300Mi'],
  ])('%d → %s', (n, text) => {
    expect(bytes(n)).toBe(text);
  });
  it('shows a dash when unknown', () => {
    expect(bytes(null)).toBe('-');
  });
});

describe('table', () => {
  it('aligns columns with two spaces and no trailing blanks', () => {
    const out = table(
      ['ID', 'NAME', 'STATUS'],
      [
        ['n_1', 'web-1', 'online'],
        ['n_22', 'db', ''],
      ],
    );
    expect(out).toBe(['ID    NAME   STATUS', 'n_1   web-1  online', 'n_22  db'].join('\n'));
  });

  it('prints only headers for no rows', () => {
    expect(table(['A', 'B'], [])).toBe('A  B');
  });
});

describe('small formatters', () => {
  it('labels', () => {
    expect(labelsText({ env: 'prod', local: 'true' })).toBe('env=prod,local=true');
    expect(labelsText({})).toBe('-');
  });
  it('counts skip zeros', () => {
    expect(countsText({ succeeded: 2, failed: 0, running: 1 })).toBe('succeeded=2 running=1');
  });
  it('elapsed', () => {
    expect(elapsed(1000, 1250)).toBe('250ms');
    expect(elapsed(0, 1500)).toBe('1.50s');
    expect(elapsed(0, 75_000)).toBe('1m');
    expect(elapsed(1000, null)).toBe('-');
  });
});
