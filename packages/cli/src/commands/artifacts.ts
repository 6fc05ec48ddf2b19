import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { pipeline as pipelineCb } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { SHA256_PATTERN } from '@steward/protocol/patterns';
import { clientFor, withConnection } from '../connect.js';
import { ago, bytes, table } from '../format.js';
import { printJson, println } from '../output.js';
import { ProgressBar } from '../progress.js';

const SHA = new RegExp(SHA256_PATTERN);

function sha(value: string): string {
  if (!SHA.test(value)) throw new InvalidArgumentError('must be a SHA-256 in lower-case hex (64 characters)');
  return value;
}

export function registerArtifacts(program: Command): void {
  const artifacts = program.command('artifacts').description("the control plane's content-addressed file store (uploads and downloads are streamed)");

  withConnection(
    artifacts
      .command('put')
      .description('upload a file; prints its SHA-256')
      .argument('<file>', 'file to upload')
      .option('--name <name>', 'name to record (default: the file name)')
      .option('--sha256 <sha>', 'refuse unless the file has this SHA-256', sha)
      .option('--json', 'print JSON'),
  ).action(async (file: string, opts: { name?: string; sha256?: string; json?: boolean }, cmd: Command) => {
    const path = resolve(file);
    const { size } = await stat(path);
    const bar = new ProgressBar('upload', size);
    const counted = bar.meter();
    // A read error destroys `counted` with it, which fails the upload.
    pipelineCb(createReadStream(path), counted, () => undefined);
    let uploaded;
    try {
      uploaded = await clientFor(cmd).putArtifact(counted, { length: size, name: opts.name ?? basename(file), sha256: opts.sha256 });
    } finally {
      bar.clear();
    }
    const { artifact, created } = uploaded;
    if (opts.json) return printJson(artifact);
    println(`${artifact.sha256}  ${bytes(artifact.size)}${created ? '' : '  (already stored)'}`);
  });

  withConnection(
    artifacts
      .command('get')
      .description('download an artifact (to stdout unless -o)')
      .argument('<sha256>', 'artifact SHA-256', sha)
      .option('-o, --output <file>', 'write here (verified against the sha before it appears)'),
  ).action(async (id: string, opts: { output?: string }, cmd: Command) => {
    const client = clientFor(cmd);
    const bar = new ProgressBar('download', (await client.artifactMeta(id)).size);
    try {
      if (opts.output) {
        const { size } = await client.downloadArtifact(id, resolve(opts.output), { onBytes: (n) => bar.add(n) });
        bar.clear();
        process.stderr.write(`wrote ${bytes(size)} to ${opts.output}\n`);
        return;
      }
      const { body } = await client.getArtifact(id);
      await pipeline(body, bar.meter(), process.stdout);
    } finally {
      bar.clear();
    }
  });

  withConnection(artifacts.command('ls').description('list artifacts').option('--name <name>', 'only this name').option('--json', 'print JSON')).action(
    async (opts: { name?: string; json?: boolean }, cmd: Command) => {
      const { items } = await clientFor(cmd).listArtifacts({ name: opts.name });
      if (opts.json) return printJson(items);
      const now = Date.now();
      println(table(['SHA256', 'SIZE', 'NAME', 'CREATED', 'BY'], items.map((a) => [a.sha256, bytes(a.size), a.name ?? '', ago(a.createdAt, now), a.createdBy ?? ''])));
    },
  );

  withConnection(artifacts.command('rm').description('delete an artifact').argument('<sha256>', 'artifact SHA-256', sha)).action(
    async (id: string, _opts: unknown, cmd: Command) => {
      await clientFor(cmd).deleteArtifact(id);
      println(`deleted ${id}`);
    },
  );
}
