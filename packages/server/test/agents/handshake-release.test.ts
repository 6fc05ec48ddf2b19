import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AGENT_PROTOCOL_VERSION, UnavailableError, type HelloMessage } from '@steward/protocol';
import { Link } from '../../src/agents/link.js';
import { CommandSigner } from '../../src/security/signing-key.js';
import { MemoryAgentEnd, MemoryTransport } from '../../src/agents/transports/memory.js';
import { CatalogCache } from '../../src/commands/catalogs.js';
import { PayloadChecker } from '../../src/commands/payload-check.js';
import { CommandService } from '../../src/commands/service.js';
import { makeCredential } from '../../src/security/secrets.js';
import { insertNode } from '../../src/store/queries/nodes.js';
import { EMPTY_INVENTORY } from '../../src/store/rows.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { nodeRow, T0 } from '../helpers/rows.js';
import { testContext } from '../helpers/context.js';

/**
 * A handshake's admission slot (docs/reconnect.md) is freed at the welcome, not at the end of
 * the whole hello: the rest of the hello (config recorded, pending commands, module reports)
 * must not keep the next agent of a storm waiting.
 */
describe('handshake slot and the welcome', () => {
  const fresh = useFreshStore(storeTargets()[0]!); // SQLite: the store is not what is tested
  let link: Link;

  beforeEach(() => {
    const ctx = testContext(fresh.store, { now: T0 + 3_600_000 });
    ctx.settings.limits = { ...ctx.settings.limits, agentHandshakes: 1 };
    link = new Link(ctx, 'replica-test', CommandSigner.ephemeral()).use(new MemoryTransport());
    link.receive(new CommandService(ctx, link, new PayloadChecker(), new CatalogCache()));
  });

  afterEach(async () => {
    await link.close();
  });

  it('frees the slot once the welcome is sent, while the hello is still being served', async () => {
    await link.install(null);
    // A module whose hello report is held: the hello is not over until the test lets it go.
    let letGo!: () => void;
    const held = new Promise<void>((r) => (letGo = r));
    let reportStarted = false;
    link.modules.register('probe', {
      report: async () => {
        reportStarted = true;
        await held;
      },
    });
    const row = nodeRow({ status: 'offline' });
    const cred = makeCredential(row.id);
    await insertNode(fresh.store.db, { ...row, credential_hash: cred.hash });

    const ticket = link.host.admit();
    // The one slot is taken: another agent is refused.
    expect(() => link.host.admit()).toThrow(UnavailableError);
    const end = new MemoryAgentEnd();
    link.host.attach(await link.host.authenticate(`Bearer ${cred.credential}`), end.channel, ticket);
    const hello: HelloMessage = { type: 'hello', protocol: AGENT_PROTOCOL_VERSION, inventory: { ...EMPTY_INVENTORY, hostname: 'h' }, running: [], outbox: [], modules: { probe: {} } };
    end.send(hello);
    await end.next('welcome');
    await expect.poll(() => reportStarted).toBe(true);
    // The hello still runs (its module report is held), and the next agent is admitted already.
    const next = link.host.admit();
    next.release();
    letGo();
  });
});
