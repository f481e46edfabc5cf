/**
 * Concatenated SMPP submits: the part-timeout sweep (a message whose parts never all came is
 * refused `parts_missing`) against the arrival of the last part and another node's build, on
 * SQLite and PostgreSQL. Two assemblers on one database stand for two nodes; the interleavings
 * that lost or doubled a message are forced with hooks between a node's read and its write:
 * - the sweep read an incomplete group, the last part came before its refusal was written;
 * - one node sent the message while another refused the part it had read as timed out;
 * - the last part came after the refusal was written.
 * Each ends with exactly one message for the client's one submit, and every part naming it.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartsAssembler } from '../../src/api/smpp/assembly.js';
import type { PartParams } from '../../src/api/smpp/assembly.js';
import type { Principal } from '../../src/services/auth.js';
import { MessageService } from '../../src/services/messages.js';
import type { Store } from '../../src/store/index.js';
import { createStore } from '../../src/store/index.js';
import type { SmppPartRow } from '../../src/store/smpp-parts.js';
import { TEST_DBS } from '../support/db.js';

const TIMEOUT_MS = 60_000;

describe.each(TEST_DBS)('SMPP parts: assembly against the timeout ($name)', (tdb) => {
  let store: Store;
  let other: Store;
  let messages: MessageService;
  let cleanup: () => Promise<void>;
  let principal: Principal;
  const log = pino({ level: 'silent' });
  const opts = { timeoutMs: TIMEOUT_MS, maxOpenPerUser: 100, keepMs: 86_400_000 };

  beforeAll(async () => {
    const opened = await tdb.open();
    cleanup = opened.cleanup;
    store = createStore(opened.db);
    // The second node: its own repositories (and, on PostgreSQL, its own connections) on the same database.
    other = createStore(opened.db);
    messages = new MessageService(store, {
      maxRecipients: 10,
      maxSegments: 10,
      defaultValidityMinutes: 60,
      maxAttempts: 3,
    });
    principal = {
      user: await store.users.create({ login: 'parts-race', passwordHash: 'x', role: 'user' }),
      apiKeyId: null,
    };
  });
  afterAll(async () => {
    await cleanup?.();
  });

  const node = (s: Store, m: MessageService = messages) =>
    new PartsAssembler(
      s,
      m,
      log,
      opts,
      async (trx, rows) => void (await s.messages.replacePresent(trx, rows)),
    );

  let n = 0;
  /** A 2-part group; its first part came `age` ms ago. */
  const group = async (age: number) => {
    n++;
    const to = `7900700${String(1000 + n)}`;
    const params: PartParams = { to, from: 'SMSGW', serviceType: '', flash: false, replaceIfPresent: false };
    const key = `${principal.user.id}|SMSGW|${to}|${n}|2`;
    const part = (seq: number, text: string, createdAt: number): SmppPartRow => ({
      id: `race-${tdb.name}-${n}-${seq}-${createdAt}`,
      owner_id: principal.user.id,
      group_key: key,
      part_seq: seq,
      total: 2,
      data_coding: 0,
      payload: Buffer.from(text).toString('hex'),
      registered: 0,
      params: JSON.stringify(params),
      created_at: createdAt,
      message_id: null,
    });
    const first = part(1, 'left ', Date.now() - age);
    expect(await store.smppParts.add(first, 100, TIMEOUT_MS)).toBe(true);
    return { key, to: `+${to}`, first, second: (at = Date.now()) => part(2, 'open', at) };
  };
  const messagesTo = (to: string) =>
    store.db.kysely
      .selectFrom('messages')
      .select(['id', 'status', 'error_code', 'text'])
      .where('to', '=', to)
      .execute();
  const partsOf = (key: string) =>
    store.db.kysely
      .selectFrom('smpp_parts')
      .select(['id', 'message_id'])
      .where('group_key', '=', key)
      .execute();
  /** Holds `s.smppParts.open` after its read until `during` has run (the other node's turn). */
  const pauseAfterRead = (s: Store, during: () => Promise<void>) => {
    const open = s.smppParts.open.bind(s.smppParts);
    let once = true;
    s.smppParts.open = async (k: string) => {
      const rows = await open(k);
      if (once) {
        once = false;
        await during();
      }
      return rows;
    };
    return () => (s.smppParts.open = open);
  };

  it('the last part stored while the sweep refuses the group: one message, built from both parts, not refused', async () => {
    const g = await group(TIMEOUT_MS + 1_000);
    const second = g.second();
    const restore = pauseAfterRead(other, async () => {
      // The sweep read one part of two and the first is past the timeout; the last one comes now.
      expect(await store.smppParts.add(second, 100, TIMEOUT_MS)).toBe(true);
    });
    try {
      await node(other).sweep(Date.now());
    } finally {
      restore();
    }
    // The node that stored the last part builds the message (as `add` does).
    await node(store).build(g.key, principal.user.id, principal);
    // Much later, every sweep finds nothing more to do.
    await node(other).sweep(Date.now() + 10 * TIMEOUT_MS);
    const ms = await messagesTo(g.to);
    expect(ms).toHaveLength(1);
    expect(ms[0]).toMatchObject({ status: 'queued', text: 'left open' });
    expect((await partsOf(g.key)).map((p) => p.message_id)).toEqual([ms[0]?.id, ms[0]?.id]);
  });

  it('one node sends the message while another refuses it as timed out: exactly one of them wins', async () => {
    const g = await group(TIMEOUT_MS + 1_000);
    // Node B's sweep has read the group with its first part only (past the timeout)...
    let resumeB!: () => void;
    const bRead = new Promise<void>((resolveRead) => {
      const open = other.smppParts.open.bind(other.smppParts);
      other.smppParts.open = async (k: string) => {
        const rows = await open(k);
        other.smppParts.open = open;
        resolveRead();
        await new Promise<void>((r) => (resumeB = r));
        return rows;
      };
    });
    const sweepB = node(other).sweep(Date.now());
    await bRead;
    // ...then the last part comes to node A, which builds and sends the message; node B's
    // refusal runs right after A's send (before anything else A does).
    let bDone!: Promise<void>;
    const sendThenB = {
      send: async (...args: Parameters<MessageService['send']>) => {
        const r = await messages.send(...args);
        resumeB();
        bDone = sweepB;
        await bDone;
        return r;
      },
    } as unknown as MessageService;
    const second = g.second();
    expect(await store.smppParts.add(second, 100, TIMEOUT_MS)).toBe(true);
    await node(store, sendThenB).build(g.key, principal.user.id, principal);
    await bDone;
    await node(other).sweep(Date.now() + 10 * TIMEOUT_MS);
    const ms = await messagesTo(g.to);
    // Never both sent and refused, never two messages.
    expect(ms).toHaveLength(1);
    const [m] = ms;
    expect((await partsOf(g.key)).map((p) => p.message_id)).toEqual([m?.id, m?.id]);
  });

  it('the last part after the group was refused joins the refused message instead of starting another', async () => {
    const g = await group(TIMEOUT_MS + 1_000);
    await node(other).sweep(Date.now());
    const refused = await messagesTo(g.to);
    expect(refused).toMatchObject([{ status: 'rejected', error_code: 'parts_missing' }]);
    // Too late: the client still gets an id for it (it was acknowledged), leading to that message.
    const late = await node(store).add(principal, {
      groupKey: g.key,
      seq: 2,
      total: 2,
      dataCoding: 0,
      payload: Buffer.from('open'),
      registered: 0,
      params: JSON.parse(g.first.params) as PartParams,
    });
    expect(late).toBeDefined();
    await node(store).sweep(Date.now() + 10 * TIMEOUT_MS);
    expect(await messagesTo(g.to)).toEqual(refused);
    expect((await store.smppParts.byId(late as string, principal.user.id))?.message_id).toBe(refused[0]?.id);
  });

  it('a message refused after its accept committed (no credit) is one rejected message, its parts naming it', async () => {
    const broke: Principal = {
      user: await store.users.create({ login: 'parts-broke', passwordHash: 'x', role: 'user' }),
      apiKeyId: null,
    };
    await store.policy.setPrice('7900', 'any', 5);
    await store.policy.credit(broke.user.id, 0, null, true);
    const to = '79005559999';
    const params: PartParams = { to, from: 'SMSGW', serviceType: '', flash: false, replaceIfPresent: false };
    const a = node(store);
    const ids: (string | undefined)[] = [];
    for (const [i, text] of ['no ', 'credit'].entries()) {
      ids.push(
        await a.add(broke, {
          groupKey: `${broke.user.id}|SMSGW|${to}|9|2`,
          seq: i + 1,
          total: 2,
          dataCoding: 0,
          payload: Buffer.from(text),
          registered: 0,
          params,
        }),
      );
    }
    await a.stop();
    const ms = await messagesTo(`+${to}`);
    expect(ms).toMatchObject([{ status: 'rejected', error_code: 'insufficient_balance', text: 'no credit' }]);
    for (const id of ids)
      expect((await store.smppParts.byId(id as string, broke.user.id))?.message_id).toBe(ms[0]?.id);
  });
});
