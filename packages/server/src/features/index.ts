import { dashboardFeature } from '../dashboard/feature.js';
import { docsFeature } from '../docs/feature.js';
import { metricsFeature } from '../metrics/feature.js';
import { samplesFeature } from '../samples/feature.js';
import type { FeatureFactory } from './feature.js';

/** Every feature of the control plane, in start order (one line each). */
export const FEATURES: FeatureFactory[] = [
  metricsFeature,
  samplesFeature,
  docsFeature,
  dashboardFeature,
];
