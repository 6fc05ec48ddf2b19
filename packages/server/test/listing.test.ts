import { describe, expect, it } from 'vitest';
import { csvField, toCsv, toText, type Column } from '../src/http/listing.js';

interface Row {
  name: string;
  note: string;
}
const columns: Column<Row>[] = [
  { header: 'name', value: (r) => r.name },
  { header: 'note', value: (r) => r.note },
];

/** A minimal RFC 4180 reader, to show what a spreadsheet or csv module would read back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      (row = []), (field = ''), i++;
    } else field += c;
  }
  return rows;
}

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
    expect(parseCsv(csv)).toEqual([['name', 'note'], ...rows.map((r) => [r.name, r.note])]);
  });

  it('leaves plain fields unquoted', () => {
    expect(csvField('node_1')).toBe('node_1');
    expect(csvField('')).toBe('');
  });

  it('aligns text columns and keeps one line per row', () => {
    const text = toText(columns, [
      { name: 'a', note: 'x\ny' },
      { name: 'longer-name', note: '' },
    ]);
    expect(text).toBe('NAME         NOTE\na            x y\nlonger-name  -\n');
  });
});
