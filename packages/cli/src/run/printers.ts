import { GroupPrinter } from './group-printer.js';
import { JsonPrinter } from './json-printer.js';
import { LinePrinter, RawPrinter, type NameOf } from './line-printer.js';
import { LiveSummary } from './live-summary.js';
import type { RunPrinter, RunTerminal } from './printer.js';
import { colourWanted } from './colour.js';

export type RunFormat = 'lines' | 'group' | 'json';

export interface PrinterOptions {
  format: RunFormat;
  term: RunTerminal;
  nameOf: NameOf;
  /** Names of every target node (for the prefix width). */
  names: readonly string[];
  /** Nodes in the job. */
  total: number;
}

/** The printer for a run: JSON lines, blocks per node, prefixed lines, or one node's output as it is. */
export function makePrinter(o: PrinterOptions): RunPrinter {
  const summary = () => new LiveSummary(o.total, o.term.stderr, o.term.liveSummary && o.total > 1);
  switch (o.format) {
    case 'json':
      return new JsonPrinter(o.term, o.nameOf);
    case 'group':
      return new GroupPrinter(o.term, o.nameOf, summary());
    case 'lines':
      return o.total === 1 ? new RawPrinter(o.term, o.nameOf) : new LinePrinter(o.term, o.nameOf, o.names, summary());
  }
}

/** The process's own stdout and stderr. */
export function processTerminal(): RunTerminal {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    colourStdout: colourWanted(process.stdout),
    colourStderr: colourWanted(process.stderr),
    liveSummary: process.stderr.isTTY === true,
  };
}
