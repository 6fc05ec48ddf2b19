import { describe, expect, it } from 'vitest';
import { readCsv } from '@steward/protocol/csv';
import { csvField, toCsv, toText, type Column } from '../src/http/listing.js';

interface Row {
  name: string;
  note: string;
}
const columns: Column<Row>[] = [
  { header: 'name', value: (r) => r.name },
  { header: 'note', value: (r) => r.note },
];

describe('listings as CSV and text', () => {
  it('quotes fields with commas, quotes and line breaks, and they read back unchanged', () => {
    const rows: Row[] = [
      { name: 'web-1', note: 'env=prod,role=web' },
      { name: 'say "hi"', note: 'line one\nline two' },
      { name: 'plain', note: '' },
    ];
    const csv = toCsv(columns, rows);
    expect(csv.split('\r\n')[1]).toBe('web-1,"env=prod,role=web"');
    expect(csv).toContain('"say ""hi""","line one\nline two"');
    expect(readCsv(csv)).toEqual([['name', 'note'], ...rows.map((r) => [r.name, r.note])]);
  });

  it('leaves plain fields unquoted', () => {
    expect(csvField('node_1')).toBe('node_1');
    expect(csvField('')).toBe('');
  });

  it('defuses cells a spreadsheet would run as formulas, keeps numbers, and drops control characters', () => {
    expect(csvField('=HYPERLINK("http://evil","x")')).toBe(`"'=HYPERLINK(""http://evil"",""x"")"`);
    expect(csvField('+cmd|calc')).toBe("'+cmd|calc");
    expect(csvField('-2+3')).toBe("'-2+3");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('\t=1')).toBe("'\t=1");
    expect(csvField('-1.5')).toBe('-1.5');
    expect(csvField('+42')).toBe('+42');
    expect(csvField('a\u0007b\u001b[31mc\u007f')).toBe('ab[31mc');
    expect(toText(columns, [{ name: 'x\u001b[2J', note: '' }])).toContain('x[2J');
  });

  it('aligns text columns and keeps one line per row', () => {
    const text = toText(columns, [
      { name: 'a', note: 'x\ny' },
      { name: 'longer-name', note: '' },
    ]);
    expect(text).toBe('NAME         NOTE\na            x y\nlonger-name  -\n');
  });
});
