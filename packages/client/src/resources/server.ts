import { Resource } from './resource.js';

export interface HealthStatus {
  /** `/healthz` answered 2xx. */
  live: boolean;
  /** `/readyz` answered 2xx. */
  ready: boolean;
  body: unknown;
}

/** The control plane itself: health and the API description. */
export class ServerApi extends Resource {
  async health(signal?: AbortSignal): Promise<HealthStatus> {
    const live = await this.http.send('GET', '/healthz', { raw: true, signal });
    const ready = await this.http.send('GET', '/readyz', { raw: true, signal });
    return { live: live.ok, ready: ready.ok, body: ready.body };
  }

  async openApi(): Promise<unknown> {
    return this.http.json<unknown>('GET', '/openapi.json');
  }
}
