import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ListingFormat } from '@steward/protocol';

export interface Column<T> {
  header: string;
  value(row: T): string;
}

/** `?format=` wins; otherwise `Accept: text/csv` or `text/plain` asks for that form. */
export function listingFormat(req: FastifyRequest): ListingFormat {
  const q = (req.query as { format?: ListingFormat } | undefined)?.format;
  if (q) return q;
  const accept = req.headers.accept ?? '';
  if (/\btext\/csv\b/.test(accept)) return 'csv';
  if (/\btext\/plain\b/.test(accept)) return 'text';
  return 'json';
}

/** Control characters other than tab, CR and LF: no listing value needs them, a terminal or sheet may act on them. */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
/** What a spreadsheet takes for a formula (OWASP "CSV injection"); a plain number is left alone. */
const FORMULA = /^[=+\-@\t\r]/;
const NUMBER = /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * RFC 4180: a field with a comma, quote, CR or LF is quoted and its quotes doubled. Values come
 * from agents and operators (labels, hostnames, errors), so a field a spreadsheet would run as a
 * formula gets a leading `'`, and control characters are dropped.
 */
export function csvField(value: string): string {
  let v = value.replace(CONTROL, '');
  if (FORMULA.test(v) && !NUMBER.test(v)) v = `'${v}`;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function toCsv<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const lines = [columns.map((c) => csvField(c.header)).join(',')];
  for (const r of rows) lines.push(columns.map((c) => csvField(c.value(r))).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** Aligned columns for people and `awk`; tabs and newlines inside a value become spaces. */
export function toText<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const cells = [columns.map((c) => c.header.toUpperCase()), ...rows.map((r) => columns.map((c) => c.value(r).replace(CONTROL, '').replace(/\s/g, ' ') || '-'))];
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells.map((row) => row.map((v, i) => (i === row.length - 1 ? v : v.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** Sends text or CSV; returns false for JSON so the route answers as usual. */
export function sendListing<T>(req: FastifyRequest, reply: FastifyReply, columns: readonly Column<T>[], rows: readonly T[]): boolean {
  const format = listingFormat(req);
  if (format === 'json') return false;
  if (format === 'csv') void reply.type('text/csv; charset=utf-8').serializer((p: unknown) => p as string).send(toCsv(columns, rows));
  else void reply.type('text/plain; charset=utf-8').serializer((p: unknown) => p as string).send(toText(columns, rows));
  return true;
}

export const iso = (ms: number | null): string => (ms === null ? '' : new Date(ms).toISOString());
export const labelText = (labels: Record<string, string>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
