import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { admissionRoutes } from './routes.js';
import type { AdmissionService } from './service.js';

/** Devices of credential-less seed protocols waiting for an operator: list, approve, reject. */
export function admissionsFeature(deps: { ctx: Context; admissions: AdmissionService }): Feature {
  return { name: 'admissions', routes: (api) => admissionRoutes(api, deps.admissions) };
}
