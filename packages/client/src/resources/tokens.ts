import type { ApiToken, ApiTokenCreate, ApiTokenCreated, EnrollmentToken, EnrollmentTokenCreate, EnrollmentTokenCreated } from '@steward/protocol';
import { enc } from '../transport.js';
import { Resource, type List } from './resource.js';

/** Operator API tokens (admin only). */
export class TokensApi extends Resource {
  async createToken(body: ApiTokenCreate): Promise<ApiTokenCreated> {
    return this.http.json<ApiTokenCreated>('POST', '/tokens', { body });
  }

  async listTokens(): Promise<List<ApiToken>> {
    return this.http.json<List<ApiToken>>('GET', '/tokens');
  }

  async deleteToken(id: string): Promise<void> {
    await this.http.request('DELETE', `/tokens/${enc(id)}`);
  }
}

/** Enrollment tokens, which new nodes present once. */
export class EnrollmentApi extends Resource {
  async createEnrollmentToken(body: EnrollmentTokenCreate = {}): Promise<EnrollmentTokenCreated> {
    return this.http.json<EnrollmentTokenCreated>('POST', '/enrollment-tokens', { body });
  }

  async listEnrollmentTokens(): Promise<List<EnrollmentToken>> {
    return this.http.json<List<EnrollmentToken>>('GET', '/enrollment-tokens');
  }

  async deleteEnrollmentToken(id: string): Promise<void> {
    await this.http.request('DELETE', `/enrollment-tokens/${enc(id)}`);
  }
}
