/**
 * `npx tsx bench/profile-summary.ts FILE.cpuprofile [--top N]`: self time per function and per
 * package/file, and inclusive time of Steward's functions, from a V8 CPU profile (the bench's
 * `--profile` output, or any `node --cpu-prof` file), so a profile can be read without DevTools.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { printProfileSummary, summarizeProfile, type CpuProfile } from './profiler.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' } } });
if (positionals.length === 0) {
  process.stderr.write('usage: npx tsx bench/profile-summary.ts FILE.cpuprofile… [--top N]\n');
  process.exit(2);
}
const top = Number(values.top);
for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  process.stdout.write(printProfileSummary(file, summarizeProfile(profile, top)) + '\n');
}
