import { describe, expect, it } from 'vitest';
import { readCsv } from '../src/csv.js';

describe('readCsv', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks', () => {
    expect(readCsv('a,b\r\n"x,y","say ""hi""\r\nthere"\r\n,\r\n')).toEqual([['a', 'b'], ['x,y', 'say "hi"\r\nthere'], ['', '']]);
  });

  it('keeps a last line without its CRLF, and reads nothing from nothing', () => {
    expect(readCsv('a,b\r\n1,2')).toEqual([['a', 'b'], ['1', '2']]);
    expect(readCsv('')).toEqual([]);
  });
});
