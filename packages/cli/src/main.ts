import { runAndExit } from './exit.js';
import { buildProgram } from './program.js';

/** Runs the CLI and exits (see runAndExit). */
export async function main(argv: string[] = process.argv): Promise<never> {
  return runAndExit(await buildProgram(argv), argv);
}

await main();
