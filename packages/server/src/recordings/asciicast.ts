/** One stored output chunk of a command, as the command output store keeps it. */
export interface OutputChunk {
  seq: number;
  stream: string;
  data: string;
  /** ms since the epoch (the agent's clock). */
  at: number;
}

export interface CastHeaderInput {
  /** The size the session was opened with (the payload's cols/rows). */
  cols: number;
  rows: number;
  term: string;
  /** The command the terminal ran, when not the login shell. */
  command?: string[];
  title?: string;
  /** Session start (ms); the first chunk's time when earlier or absent. */
  startedAt: number | null;
}

const RESIZE = /^(\d{1,5})x(\d{1,5})$/;

/** Seconds with microsecond precision, as asciinema writes them. */
const secs = (ms: number): number => Math.round(ms * 1000) / 1_000_000;

/** A command line for the header: words with spaces or quotes single-quoted. */
function commandLine(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * Builds an asciicast v2 file (https://docs.asciinema.org/manual/asciicast/v2/) from a session's
 * output chunks: a header line, then `[t, "o", data]` per 'pty' chunk and `[t, "r", "COLSxROWS"]`
 * per resize after the first output (a resize before any output is the header's size). Times are
 * seconds from the first chunk (the agent's clock throughout, so they never go backwards across
 * clocks); any other stream (input never reaches the store) is left out.
 */
export class AsciicastWriter {
  private readonly lines: string[] = [];
  private width: number;
  private height: number;
  private origin: number | null = null;
  private last = 0;
  private sawOutput = false;

  constructor(private readonly h: CastHeaderInput) {
    this.width = h.cols;
    this.height = h.rows;
  }

  add(c: OutputChunk): void {
    if (c.stream !== 'pty' && c.stream !== 'resize') return;
    if (this.origin === null) this.origin = c.at;
    // Chunks are in seq order; a clock step back on the node must not make time run backwards.
    const t = Math.max(this.last, c.at - this.origin);
    this.last = t;
    if (c.stream === 'pty') {
      this.sawOutput = true;
      this.lines.push(JSON.stringify([secs(t), 'o', c.data]));
      return;
    }
    const m = RESIZE.exec(c.data);
    if (!m) return;
    if (!this.sawOutput) {
      this.width = Number(m[1]);
      this.height = Number(m[2]);
      return;
    }
    this.lines.push(JSON.stringify([secs(t), 'r', `${m[1]}x${m[2]}`]));
  }

  /** The whole file: header line, then one event per line, newline-terminated. */
  finish(): string {
    const started = this.origin ?? this.h.startedAt ?? 0;
    const header = {
      version: 2,
      width: this.width,
      height: this.height,
      timestamp: Math.floor(started / 1000),
      ...(this.h.command ? { command: commandLine(this.h.command) } : {}),
      ...(this.h.title ? { title: this.h.title } : {}),
      env: { TERM: this.h.term },
    };
    return [JSON.stringify(header), ...this.lines].join('\n') + '\n';
  }
}
