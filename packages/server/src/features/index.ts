import type { FeatureFactory } from './feature.js';
import { servicesFeature } from '../services/index.js';

/** Every feature of the control plane, in start order (one line each). */
export const FEATURES: FeatureFactory[] = [
  servicesFeature,
];
