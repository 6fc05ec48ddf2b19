import { alertsFeature } from '../alerts/index.js';
import { artifactsFeature } from '../artifacts/index.js';
import { backupsFeature } from '../backups/index.js';
import { dashboardFeature } from '../dashboard/feature.js';
import { docsFeature } from '../docs/feature.js';
import { metricsFeature } from '../metrics/feature.js';
import { samplesFeature } from '../samples/feature.js';
import { servicesFeature } from '../services/index.js';
import { tasksFeature } from '../tasks/index.js';
import type { FeatureFactory } from './feature.js';

/**
 * Every feature of the control plane, in start order (one line each). Metrics come first so
 * later features can register theirs; the dashboard comes last because its SPA fallback
 * answers every path nobody else claimed.
 */
export const FEATURES: FeatureFactory[] = [
  metricsFeature,
  alertsFeature,
  artifactsFeature,
  tasksFeature,
  servicesFeature,
  backupsFeature,
  samplesFeature,
  docsFeature,
  dashboardFeature,
];
