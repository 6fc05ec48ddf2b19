import type { Feature } from '../core/feature.js';
import { jobRoutes } from './routes.js';
import type { JobService } from './service.js';
import type { JobTracker } from './tracker.js';

/** Jobs: one command fanned out to many nodes, batched, with an aggregate state. */
export function jobsFeature(deps: { jobs: JobService; tracker: JobTracker }): Feature {
  return {
    name: 'jobs',
    routes: (api) => jobRoutes(api, deps.jobs),
    // Batches a previous process left half-released move on.
    start: () => deps.tracker.recover(),
    stop: () => deps.tracker.idle(),
  };
}
