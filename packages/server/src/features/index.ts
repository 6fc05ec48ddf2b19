import { alertsFeature } from '../alerts/index.js';
import { artifactsFeature } from '../artifacts/index.js';
import { servicesFeature } from '../services/index.js';
import { backupsFeature } from '../backups/index.js';
import type { FeatureFactory } from './feature.js';
import { tasksFeature } from '../tasks/index.js';

/** Every feature of the control plane, in start order (one line each). */
export const FEATURES: FeatureFactory[] = [
  alertsFeature,
  artifactsFeature,
  tasksFeature,
  servicesFeature,
  backupsFeature,
];
