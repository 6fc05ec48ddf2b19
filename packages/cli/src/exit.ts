import { CommanderError, type Command } from 'commander';
import { EXIT_OK, EXIT_USAGE, reportError } from './errors.js';

/**
 * Runs a command tree and exits. Commands that should keep running (server, agent, up,
 * events) simply do not return until they are done.
 */
export async function runAndExit(program: Command, argv: string[] = process.argv): Promise<never> {
  let code: number;
  try {
    await program.parseAsync(argv);
    code = typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has already printed its message (or the help)
      code = e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    } else {
      code = reportError(e);
    }
  }
  process.exit(code);
}
