import { describe, expect, it } from 'vitest';
import { AGENT_PROTOCOL_VERSION, agentAccepts, parseProtocolVersion, protocolSkew, SERVER_MESSAGE_SINCE } from '../src/index.js';

describe('agent protocol versions', () => {
  it('reads MAJOR.MINOR and the integer of agents before 1.1, and nothing else', () => {
    expect(parseProtocolVersion('1.1')).toEqual({ major: 1, minor: 1 });
    expect(parseProtocolVersion(1)).toEqual({ major: 1, minor: 0 });
    for (const bad of ['1', '1.1.1', 'v1.1', '', -1, 1.5, null, undefined, { major: 1 }]) expect(parseProtocolVersion(bad)).toBeNull();
  });

  it('serves one minor either side within the major; refuses the rest with the side to upgrade', () => {
    const server = { major: 1, minor: 1 };
    expect(protocolSkew({ major: 1, minor: 0 }, server)).toBe('ok');
    expect(protocolSkew({ major: 1, minor: 2 }, server)).toBe('ok');
    expect(protocolSkew({ major: 1, minor: 3 }, server)).toBe('agent_too_new');
    expect(protocolSkew({ major: 0, minor: 9 }, server)).toBe('agent_too_old');
    expect(protocolSkew({ major: 2, minor: 0 }, server)).toBe('agent_too_new');
    expect(protocolSkew({ major: 1, minor: 1 }, { major: 1, minor: 2 })).toBe('ok');
    expect(protocolSkew({ major: 1, minor: 0 }, { major: 1, minor: 2 })).toBe('agent_too_old');
  });

  it('keeps message types from agents older than their minor', () => {
    expect(agentAccepts({ major: 1, minor: 0 }, 'config.desired')).toBe(false);
    expect(agentAccepts({ major: 1, minor: 0 }, 'command.dispatch')).toBe(true);
    expect(agentAccepts({ major: 1, minor: 1 }, 'config.desired')).toBe(true);
    // No type may need a minor newer than the control plane's own.
    const own = parseProtocolVersion(AGENT_PROTOCOL_VERSION)!;
    expect(Math.max(...Object.values(SERVER_MESSAGE_SINCE))).toBeLessThanOrEqual(own.minor);
  });
});
