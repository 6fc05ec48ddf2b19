import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatReport, violations } from './report.js';
import { runSoak } from './run.js';
import { ensureFreshBuild } from '../../scripts/build-state.mjs';

/**
 * `npm run soak -- --minutes N [--seed S] [--agents N] [--json FILE]`: the chaos soak, outside
 * the suite (test/e2e/soak.test.ts runs a 2-minute one). Exits 1 when an invariant was violated
 * or the soak itself broke; prints the table and writes the JSON report.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '5' },
      seed: { type: 'string' },
      agents: { type: 'string', default: '4' },
      json: { type: 'string', default: 'soak-report.json' },
      'drain-seconds': { type: 'string', default: '180' },
    },
  });
  const minutes = Number(values.minutes);
  const agents = Number(values.agents);
  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  if (!(minutes > 0) || !Number.isInteger(agents) || agents < 1 || !Number.isInteger(seed)) {
    console.error('usage: npm run soak -- --minutes N [--seed S] [--agents N] [--json FILE] [--drain-seconds N]');
    return 2;
  }
  process.env.STEWARD_AGENT_PACKAGE_BUILD = 'off';
  // The soak runs the compiled steward, as the tests do: build it when the sources changed.
  await ensureFreshBuild();
  const report = await runSoak({ minutes, seed, agents, drainMs: Number(values['drain-seconds']) * 1000 });
  console.log(formatReport(report));
  writeFileSync(values.json!, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`report: ${values.json}`);
  return violations(report) === 0 && !report.error ? 0 : 1;
}

process.exitCode = await main();
// Agents' and replicas' exit handlers (processes.ts) have run in runSoak; leave nothing waiting.
process.exit();
