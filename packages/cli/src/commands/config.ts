import { InvalidArgumentError, type Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { ValidationError } from '@steward/protocol/errors';
import { effectiveConfig, type ConfigDocument, type ConfigDocumentPut, type ConfigTarget, type LayerDocument, type NodeConfigView, type PushedConfig } from '@steward/protocol';
import { collectList, selector } from '../args.js';
import { clientFor, withConnection } from '../connect.js';
import { ago, table } from '../format.js';
import { printJson, println } from '../output.js';
import { readPayloadFile } from '../payload-file.js';
import { configChanges } from '../config-diff.js';

function integer(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('Expected a whole number.');
  return Number(value);
}

interface TargetOpts {
  all?: boolean;
  selector?: string;
  nodes?: string[];
}

function targetOf(o: TargetOpts): ConfigTarget | undefined {
  const given = [o.all, o.selector, o.nodes].filter((v) => v !== undefined).length;
  if (given > 1) throw new ValidationError('give one of --all, --selector, --nodes', [{ field: 'target', rule: 'one of --all, --selector, --nodes' }]);
  if (o.all) return { all: true };
  if (o.selector) return { selector: o.selector };
  if (o.nodes) return { nodes: o.nodes };
  return undefined;
}

/**
 * A document file: either `{target, priority, config}` (the PUT body; flags override target and
 * priority) or just the config mapping.
 */
function readDocumentFile(path: string): Partial<ConfigDocumentPut> {
  const doc = readPayloadFile(path, '--file');
  return 'config' in doc ? (doc as Partial<ConfigDocumentPut>) : { config: doc as PushedConfig };
}

function targetText(t: ConfigTarget): string {
  if ('all' in t) return 'all';
  if ('selector' in t) return t.selector;
  return `nodes: ${t.nodes.join(',')}`;
}

function printNodeView(v: NodeConfigView): void {
  const a = v.applied;
  println(`node:      ${v.nodeId}`);
  println(`revision:  ${v.revision}${v.inSync ? ' (applied)' : ''}`);
  println(`documents: ${v.documents.length ? v.documents.join(' < ') : 'none (no pushed config)'}`);
  println(`agent:     ${a ? `${a.state} ${a.revision} ${ago(a.at)}${a.reason ? `: ${a.reason}` : ''}` : 'no answer yet'}`);
  for (const i of a?.issues ?? []) println(`           ${i.field}: ${i.rule}`);
  const keys = Object.keys(v.sources).sort();
  if (keys.length) {
    println('');
    println(table(['KEY', 'FROM'], keys.map((k) => [k, v.sources[k]!])));
    println('');
    process.stdout.write(toYaml(v.config));
  }
}

export function registerConfig(program: Command): void {
  const config = program
    .command('config')
    .description('desired agent configuration: layered documents merged by priority into one config per node, pushed live');

  withConnection(
    config
      .command('apply')
      .description('create or replace a config document; the nodes it targets get their new effective config at once')
      .argument('<name>', 'document name (base, web, eu-west…)')
      .option('--file <path>', 'YAML or JSON: {target, priority, config} or just the config (- = stdin)')
      .option('--all', 'target every node (the default for a new document)')
      .option('--selector <sel>', 'target nodes whose labels match (role=web,env!=dev)', selector)
      .option('--nodes <names>', 'target these nodes (ids or names, comma-separated; repeatable)', collectList)
      .option('--priority <n>', 'merge order: higher wins (default 0)', integer)
      .option('--json', 'print JSON'),
  ).action(async (name: string, opts: TargetOpts & { file?: string; priority?: number; json?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    const fromFile = opts.file ? readDocumentFile(opts.file) : undefined;
    // Without a file, an existing document keeps its config and changes target or priority.
    const current = fromFile ? undefined : await client.getAgentConfig(name);
    const body = {
      target: targetOf(opts) ?? fromFile?.target ?? current?.target ?? { all: true },
      priority: opts.priority ?? fromFile?.priority ?? current?.priority ?? 0,
      config: fromFile?.config ?? current?.config ?? {},
    } as ConfigDocumentPut;
    const doc = await client.putAgentConfig(name, body);
    if (opts.json) return printJson(doc);
    println(`${doc.name}: version ${doc.version}, target ${targetText(doc.target)}, priority ${doc.priority}`);
  });

  withConnection(config.command('ls').description('list config documents in merge order').option('--json', 'print JSON')).action(
    async (opts: { json?: boolean }, cmd: Command) => {
      const { items } = await clientFor(cmd).listAgentConfigs();
      if (opts.json) return printJson(items);
      if (items.length === 0) return println('no config documents');
      println(
        table(
          ['NAME', 'PRIORITY', 'TARGET', 'KEYS', 'VERSION', 'UPDATED', 'BY'],
          items.map((d) => [d.name, String(d.priority), targetText(d.target), Object.keys(d.config).sort().join(',') || '-', String(d.version), ago(d.updatedAt), d.updatedBy]),
        ),
      );
    },
  );

  withConnection(
    config
      .command('show')
      .description("a document (as YAML), or with --node a node's effective config, where each key comes from, and what its agent applied")
      .argument('[name]', 'document name')
      .option('--node <node>', 'node id or name')
      .option('--json', 'print JSON'),
  ).action(async (name: string | undefined, opts: { node?: string; json?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    if ((name === undefined) === (opts.node === undefined)) {
      throw new ValidationError('give a document name or --node', [{ field: 'name', rule: 'a document name or --node, not both' }]);
    }
    if (opts.node) {
      const view = await client.nodeConfig(opts.node);
      return opts.json ? printJson(view) : printNodeView(view);
    }
    const doc = await client.getAgentConfig(name!);
    if (opts.json) return printJson(doc);
    process.stdout.write(`# ${doc.name}: version ${doc.version}, updated ${ago(doc.updatedAt)} by ${doc.updatedBy}\n`);
    process.stdout.write(toYaml({ target: doc.target, priority: doc.priority, config: doc.config }));
  });

  withConnection(config.command('rm').description('delete a config document; its nodes get their config without it').argument('<name>', 'document name')).action(
    async (name: string, _opts: unknown, cmd: Command) => {
      await clientFor(cmd).deleteAgentConfig(name);
      println(`deleted ${name}`);
    },
  );

  withConnection(
    config
      .command('diff')
      .description(
        "what would change on a node: its effective config now against the one it would get with --file applied as document --name (without --file: against what its agent last applied)",
      )
      .argument('<node>', 'node id or name')
      .option('--file <path>', 'a document file as for `config apply`')
      .option('--name <name>', 'the document the file would be applied as (default: the file name without extension)')
      .option('--json', 'print JSON'),
  ).action(async (node: string, opts: { file?: string; name?: string; json?: boolean }, cmd: Command) => {
    const client = clientFor(cmd);
    const view = await client.nodeConfig(node);
    if (!opts.file) {
      const a = view.applied;
      if (opts.json) return printJson({ revision: view.revision, applied: a, inSync: view.inSync });
      if (view.inSync) return println(`in sync: the agent applied revision ${view.revision}`);
      println(`not in sync: desired revision ${view.revision}; agent ${a ? `${a.state} ${a.revision}${a.reason ? `: ${a.reason}` : ''}` : 'has not answered'}`);
      return;
    }
    const file = readDocumentFile(opts.file);
    const docName = opts.name ?? opts.file.replace(/^.*\//, '').replace(/\.[^.]*$/, '');
    const [{ items }, target] = await Promise.all([client.listAgentConfigs(), client.getNode(node)]);
    const existing = items.find((d: ConfigDocument) => d.name === docName);
    const proposed: LayerDocument = {
      name: docName,
      target: file.target ?? existing?.target ?? { all: true },
      priority: file.priority ?? existing?.priority ?? 0,
      config: file.config ?? {},
    };
    const layers = [...items.filter((d) => d.name !== docName), proposed];
    const after = effectiveConfig(layers, { id: target.id, name: target.name, labels: target.labels });
    const changes = configChanges(view.config, after.config);
    if (opts.json) return printJson({ node: target.id, before: view.config, after: after.config, changes });
    if (changes.length === 0) return println(`no change for ${target.name}`);
    for (const c of changes) println(c.text);
  });
}
