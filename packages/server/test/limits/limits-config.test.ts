import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, limitEnvName, limitsFrom } from '../../src/core/limits.js';

/** Each limit: the option, else STEWARD_LIMIT_<NAME>, else the default; a bad value is refused naming the variable. */
describe('limits from options and the environment', () => {
  afterEach(() => {
    delete process.env.STEWARD_LIMIT_SSE_STREAMS_PER_TOKEN;
    delete process.env.STEWARD_LIMIT_AGENT_FRAME_BYTES;
  });

  it('names each variable after its field and takes option over environment over default', () => {
    expect(limitEnvName('sseStreamsPerToken')).toBe('STEWARD_LIMIT_SSE_STREAMS_PER_TOKEN');
    expect(limitEnvName('authFailureWindowMs')).toBe('STEWARD_LIMIT_AUTH_FAILURE_WINDOW_MS');
    process.env.STEWARD_LIMIT_SSE_STREAMS_PER_TOKEN = '3';
    process.env.STEWARD_LIMIT_AGENT_FRAME_BYTES = '1024';
    const l = limitsFrom({ agentFrameBytes: 2048 });
    expect(l).toEqual({ ...DEFAULT_LIMITS, sseStreamsPerToken: 3, agentFrameBytes: 2048 });
    expect(limitsFrom().agentFrameBytes).toBe(1024);
  });

  it('refuses a value that is not a positive integer, naming the variable', () => {
    process.env.STEWARD_LIMIT_SSE_STREAMS_PER_TOKEN = '0';
    expect(() => limitsFrom()).toThrow('STEWARD_LIMIT_SSE_STREAMS_PER_TOKEN must be a positive integer');
  });
});
