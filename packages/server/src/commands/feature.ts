import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import type { StreamSlots } from '../core/stream-slots.js';
import type { JobService } from '../jobs/service.js';
import { streamJobOutput } from './job-output-stream.js';
import { resumeAfter, streamCommandOutput, type OutputStreamDeps } from './output-stream.js';
import { commandRoutes } from './routes.js';
import type { CommandService } from './service.js';
import { sweepCommands } from './sweeper.js';

/** Commands to one node: submit, list, wait, cancel, follow output; the sweep ends what would wait forever. */
export function commandsFeature(deps: { ctx: Context; commands: CommandService; jobs: Pick<JobService, 'get'>; sseSlots: StreamSlots }): Feature {
  const streams: OutputStreamDeps = { ctx: deps.ctx, commands: deps.commands, slots: deps.sseSlots, open: new Set() };
  return {
    name: 'commands',
    routes: (api) =>
      commandRoutes(api, deps.commands, {
        command: (id, opts, req, reply) => streamCommandOutput(streams, id, { follow: opts.follow, after: resumeAfter(req, opts.after) }, req, reply),
        job: (id, req, reply) => streamJobOutput(streams, (jobId) => deps.jobs.get(jobId), id, req, reply),
      }),
    sweep: async () => void (await sweepCommands(deps.ctx, deps.commands)),
    drain: async () => {
      for (const end of [...streams.open]) end();
    },
  };
}
