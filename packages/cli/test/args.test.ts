import { InvalidArgumentError } from 'commander';
import { ValidationError } from '@steward/protocol';
import { describe, expect, it } from 'vitest';
import {
  collectLabel,
  collectList,
  durationMs,
  jsonObject,
  labelEdits,
  listenAddress,
  positiveInt,
  waitSeconds,
} from '../src/args.js';
import { agentCommandLine, installCommandLine } from '../src/commands/enroll.js';
import { eventKinds } from '../src/commands/events.js';
import { execPayload, targetOf } from '../src/commands/run.js';
import { reportError } from '../src/errors.js';
import { shellJoin, shellQuote } from '../src/shell-quote.js';
import { nodeNameFromHostname } from '../src/up/local-agent.js';
import { ApiError, ConnectionConfigError } from '@steward/client';

describe('option parsers', () => {
  it('durations', () => {
    expect(durationMs('1h')).toBe(3_600_000);
    expect(durationMs('30s')).toBe(30_000);
    expect(() => durationMs('banana')).toThrow(InvalidArgumentError);
    expect(() => durationMs('0s')).toThrow(/more than zero/);
  });

  it('--wait is in seconds and at most 300', () => {
    expect(waitSeconds('10s')).toBe(10);
    expect(waitSeconds('500ms')).toBe(0.5);
    // A bare number is seconds, as the option's unit says; milliseconds need their unit.
    expect(waitSeconds('3')).toBe(3);
    expect(() => waitSeconds('301')).toThrow(/300s/);
    expect(() => waitSeconds('6m')).toThrow(/300s/);
  });

  it('whole numbers', () => {
    expect(positiveInt('3')).toBe(3);
    for (const bad of ['0', '-1', '1.5', 'x', '']) expect(() => positiveInt(bad)).toThrow(InvalidArgumentError);
  });

  it('labels are checked one at a time and collected', () => {
    expect(collectLabel('b=2', collectLabel('a=1'))).toEqual(['a=1', 'b=2']);
    expect(() => collectLabel('nokv')).toThrow(/k=v/);
    expect(() => collectLabel('a=has space')).toThrow(InvalidArgumentError);
  });

  it('lists accept repeats and commas', () => {
    expect(collectList('c', collectList('a, b'))).toEqual(['a', 'b', 'c']);
    expect(() => collectList(' , ')).toThrow(InvalidArgumentError);
  });

  it('listen addresses', () => {
    expect(listenAddress('127.0.0.1:0')).toBe('127.0.0.1:0');
    expect(listenAddress('[::1]:7070')).toBe('[::1]:7070');
    for (const bad of ['7070', 'host:', 'host:99999', 'a b:1']) expect(() => listenAddress(bad)).toThrow(InvalidArgumentError);
  });

  it('payloads must be JSON objects', () => {
    expect(jsonObject('{"path":"/tmp"}')).toEqual({ path: '/tmp' });
    expect(() => jsonObject('[1]')).toThrow(/object/);
    expect(() => jsonObject('{')).toThrow(/JSON/);
  });

  it('event kinds', () => {
    expect(eventKinds('node.status, job.state')).toEqual(['node.status', 'job.state']);
    expect(() => eventKinds('node.status,bogus')).toThrow(InvalidArgumentError);
  });
});

describe('nodes label edits', () => {
  it('k=v sets and k- removes', () => {
    expect(labelEdits(['env=prod', 'old-', 'role=web'])).toEqual({ env: 'prod', old: null, role: 'web' });
  });
  it('k= sets an empty value rather than removing', () => {
    expect(labelEdits(['flag='])).toEqual({ flag: '' });
  });
  it('rejects nothing at all and malformed edits', () => {
    expect(() => labelEdits([])).toThrow(ValidationError);
    expect(() => labelEdits(['nokv'])).toThrow(/k=v/);
    expect(() => labelEdits(['-'])).toThrow(/label key/);
  });
});

describe('run arguments', () => {
  it('needs exactly one target', () => {
    expect(targetOf({ node: ['a', 'b'] })).toEqual({ nodes: ['a', 'b'] });
    expect(targetOf({ selector: 'env=prod' })).toEqual({ selector: 'env=prod' });
    expect(targetOf({ all: true })).toEqual({ all: true });
    expect(() => targetOf({})).toThrow(/--node N/);
    expect(() => targetOf({ all: true, selector: 'a=b' })).toThrow(/one of --selector, --all/);
  });

  it('builds exec.run payloads', () => {
    expect(execPayload(['echo', 'hi there'], false)).toEqual({ command: 'echo', args: ['hi there'] });
    expect(execPayload(['echo', '$HOME', '|', 'wc'], true)).toEqual({ command: 'echo $HOME | wc', shell: true });
    expect(() => execPayload([], false)).toThrow(/after --/);
  });
});

describe('shell quoting', () => {
  it('leaves plain words and quotes the rest', () => {
    expect(shellQuote('http://127.0.0.1:7070')).toBe('http://127.0.0.1:7070');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('')).toBe("''");
    expect(shellJoin(['a b', 'c'])).toBe("'a b' c");
  });

  it('prints the agent command line with labels', () => {
    expect(agentCommandLine('http://h:7070', 'tok_abc-_1', ['env=prod'])).toBe(
      'steward agent --server http://h:7070 --enroll-token tok_abc-_1 --label env=prod',
    );
  });

  it('prints the one-line install: pins the server key for curl and the CA for the script over TLS', () => {
    expect(installCommandLine('http://127.0.0.1:7070/', 'tok_1', ['env=prod'])).toBe('curl -fsSL http://127.0.0.1:7070/install.sh | sudo sh -s -- --token tok_1 --label env=prod');
    const pin = `sha256:${'a'.repeat(64)}`;
    expect(installCommandLine('https://cp:7070', 'tok_1', [], { sha256: pin, serverKeySha256: 'K3y+/=' })).toBe(
      `curl -fsSL -k --pinnedpubkey sha256//K3y+/= https://cp:7070/install.sh | sudo sh -s -- --token tok_1 --ca-sha256 ${pin}`,
    );
    // The operator's own certificate: the machine's trust store checks it, and no pin is known.
    expect(installCommandLine('https://cp:7070', 'tok_1', [], { sha256: null, serverKeySha256: 'K3y' })).toBe('curl -fsSL https://cp:7070/install.sh | sudo sh -s -- --token tok_1');
  });
});

describe('error reporting', () => {
  const capture = (e: unknown) => {
    let text = '';
    const code = reportError(e, (t) => (text += t));
    return { code, text };
  };

  it('validation errors exit 2 and list each field issue', () => {
    const e = new ApiError(400, 'validation_failed', 'invalid body', {
      issues: [
        { field: 'payload.command', rule: 'required' },
        { field: 'timeoutMs', rule: 'minimum 100' },
      ],
    });
    expect(capture(e)).toEqual({
      code: 2,
      text: 'error: invalid body\n  payload.command: required\n  timeoutMs: minimum 100\n',
    });
  });

  it('a missing connection is a usage error; a refused one is not', () => {
    expect(capture(new ConnectionConfigError('no server', '--server')).code).toBe(2);
    expect(capture(ApiError.connectionFailed('http://x:1', new Error('boom'))).code).toBe(1);
    expect(capture(new ApiError(404, 'not_found', 'node "x" does not exist')).text).toBe(
      'error: node "x" does not exist\n',
    );
  });
});

describe('local agent name', () => {
  it('turns a hostname into a valid node name', () => {
    expect(nodeNameFromHostname('my laptop (2)')).toBe('my-laptop--2-');
    expect(nodeNameFromHostname('-x')).toBe('x');
    expect(nodeNameFromHostname('***')).toBe('local');
    expect(nodeNameFromHostname('a'.repeat(80))).toHaveLength(63);
  });
});
