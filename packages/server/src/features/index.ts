import { artifactsFeature } from '../artifacts/index.js';
import { backupsFeature } from '../backups/index.js';
import type { FeatureFactory } from './feature.js';

/** Every feature of the control plane, in start order (one line each). */
export const FEATURES: FeatureFactory[] = [
  artifactsFeature,
  backupsFeature,
];
