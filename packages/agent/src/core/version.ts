import { readFileSync } from 'node:fs';

/** Set by scripts/build.mjs in a compiled build, where no package.json sits beside the code. */
declare const __STEWARD_AGENT_VERSION__: string | undefined;

export const AGENT_VERSION: string =
  typeof __STEWARD_AGENT_VERSION__ === 'string'
    ? __STEWARD_AGENT_VERSION__
    : (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
