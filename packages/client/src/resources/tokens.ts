import type {
  ApiToken,
  ApiTokenCreate,
  ApiTokenCreated,
  EnrollmentToken,
  EnrollmentTokenCreate,
  EnrollmentTokenCreated,
  ServerCa,
  SigningKeyList,
  SigningKeyRotate,
  SigningKeyRotation,
} from '@steward/protocol';
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

  /** The keys that sign commands to agents (public halves). */
  async listSigningKeys(): Promise<SigningKeyList> {
    return this.http.json<SigningKeyList>('GET', '/signing-keys');
  }

  /** A new command signing key; the old ones stay valid `overlapSeconds` (default a day). */
  async rotateSigningKey(body: SigningKeyRotate = {}): Promise<SigningKeyRotation> {
    return this.http.json<SigningKeyRotation>('POST', '/signing-keys/rotate', { body });
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

  /** The control plane's CA and its pin (`--ca-sha256` of the agent command line); `tls: false` on plain HTTP. */
  async serverCa(): Promise<ServerCa> {
    return this.http.json<ServerCa>('GET', '/server/ca');
  }
}
