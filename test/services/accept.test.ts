/**
 * The accept path's shortcuts give the answers the long way gives: recipients' numbers through
 * the per-prefix verdict cache (core/phone-cache.ts) come out as normalizeNumber says, also for
 * numbers that share a cached prefix but not its verdict; and the dispatcher is told about new
 * work once per group commit, after the callers have their answers, never before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeNumber } from '../../src/core/phone.js';
import type { Principal } from '../../src/services/auth.js';
import { MessageService } from '../../src/services/messages.js';
import type { Store } from '../../src/store/index.js';
import { createStore } from '../../src/store/index.js';
import { TEST_DBS } from '../support/db.js';

describe.each(TEST_DBS)('accepting messages ($name)', (tdb) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let messages: MessageService;
  let alice: Principal;

  beforeAll(async () => {
    const opened = await tdb.open();
    cleanup = opened.cleanup;
    store = createStore(opened.db);
    messages = new MessageService(store, {
      maxRecipients: 100,
      maxSegments: 10,
      defaultValidityMinutes: 60,
      maxAttempts: 3,
      defaultRegion: 'GB',
    });
    alice = {
      user: await store.users.create({ login: 'accept-alice', passwordHash: 'x', role: 'user' }),
      apiKeyId: null,
    };
  });
  afterAll(async () => {
    await cleanup();
  });

  it('normalizes every number as libphonenumber does, cached prefix or not', async () => {
    const numbers = [
      '+447700900001', // primes the verdict for +4477009, 12 digits
      '+44 7700 900002',
      '00447700900003',
      '07700900004', // national, through the default region
      '+4477009000055', // same prefix, one digit too many
      '+44770090000', // one too few
      '+79001234567',
      '+7 900 123-45-68',
      '+12025550123',
      '+1202555012',
      '+0044770090000',
      '+999123',
    ];
    for (const raw of numbers) {
      const want = normalizeNumber(raw, 'GB');
      const res = await messages.send(alice, { to: [raw], text: 'hi' }).then(
        (r) => r.messages[0],
        (err: { details?: { messages?: unknown[] } }) => err.details?.messages?.[0],
      );
      if (want.ok) expect(res, raw).toMatchObject({ to: want.e164, status: 'queued' });
      else expect(res, raw).toMatchObject({ error: { code: 'invalid_number' } });
    }
  });

  it('wakes the dispatcher once per group commit, after the senders have their answers', async () => {
    await new Promise((r) => setImmediate(r)); // the wake-up owed for the test before
    let wakes = 0;
    messages.onAccepted(() => wakes++);
    const seen: number[] = [];
    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        messages
          .send(alice, { to: [`+4477009001${String(i).padStart(2, '0')}`], text: 'hi' })
          .then(() => seen.push(wakes)),
      ),
    );
    expect(seen).toEqual([0, 0, 0, 0, 0]);
    await new Promise((r) => setImmediate(r));
    expect(wakes).toBe(1);
  });
});
