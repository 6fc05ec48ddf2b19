/**
 * Colour for `steward run`: a node's name keeps its colour from run to run (a hash of the
 * name picks it), and nothing is coloured unless the text goes to a terminal and NO_COLOR
 * (https://no-color.org) is unset or empty.
 */

/** Foreground colours that read on dark and light backgrounds alike (no black, white or red: red marks stderr). */
const PALETTE = [36, 33, 32, 35, 34, 96, 93, 92, 95, 94] as const;
export const STDERR_MARK_COLOUR = 31;

/** The ANSI colour of a node's name: FNV-1a of the name, so the same node gets the same colour every time. */
export function nodeColour(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return PALETTE[(h >>> 0) % PALETTE.length]!;
}

export function paint(text: string, colour: number, on: boolean): string {
  return on ? `\u001b[${colour}m${text}\u001b[0m` : text;
}

/** Whether to colour what is written to `out`. */
export function colourWanted(out: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return out.isTTY === true && !env.NO_COLOR;
}
