import { describe, expect, it } from 'vitest';
import { buildFullProgram, buildProgram, commandNamed, COMMANDS } from '../src/program.js';

describe('the lazily loaded command tree', () => {
  it('lists every command the modules register, with their descriptions, in order', { timeout: 60_000 }, async () => {
    const full = await buildFullProgram();
    expect(COMMANDS.map((c) => [c.name, c.description])).toEqual(full.commands.map((c) => [c.name(), c.description()]));
  });

  it.each([
    [['nodes', 'ls'], 'nodes'],
    [['--server', 'http://x', '--token', 't', 'run', '--all', '--', 'uname'], 'run'],
    [['--ca-file', 'nodes', 'jobs', 'ls'], 'jobs'],
    [['help', 'tasks'], 'tasks'],
    [['--help'], null],
    [['--version'], null],
    [[], null],
    [['nodse', 'ls'], null],
  ])('argv %j names %s', (args, name) => {
    expect(commandNamed(['node', 'steward', ...args])).toBe(name);
  });

  it('loads only the named command; the others are stubs with their description', async () => {
    const program = await buildProgram(['node', 'steward', 'approve', 'x']);
    expect(program.commands.map((c) => c.name())).toEqual(COMMANDS.map((c) => c.name));
    const subs = (name: string) => program.commands.find((c) => c.name() === name)!.commands.length;
    expect(subs('approvals')).toBeGreaterThan(0); // registered with approve, by the same module
    expect(subs('nodes')).toBe(0);
    expect(program.commands.find((c) => c.name() === 'nodes')!.description()).toBe('list and manage nodes');
  });
});
