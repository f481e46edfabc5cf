/**
 * OTP service over a real database (SQLite, and PostgreSQL when SMSGW_TEST_DATABASE_URL is set)
 * with an injected clock: the code read from the stored message text verifies once; a wrong
 * code is counted; expiry; too many attempts; a resend replaces the earlier code (replace id
 * kept, old code dead) and waits for its cooldown; the per-number limit; concurrent verifies of
 * the right code succeed once; only an HMAC of the code is stored. The code's row and its SMS
 * commit together: a crash (a failing write, injected by a trigger) leaves neither, and a resend
 * whose SMS is refused keeps the earlier code working.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/services/auth.js';
import { MessageService } from '../../src/services/messages.js';
import { OtpService } from '../../src/services/otp.js';
import type { Store } from '../../src/store/index.js';
import { createStore } from '../../src/store/index.js';
import { TEST_DBS } from '../support/db.js';

describe.each(TEST_DBS)('OTP service ($name)', (tdb) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let otp: OtpService;
  let alice: Principal;
  let bob: Principal;
  let clock = Date.now();

  beforeAll(async () => {
    const opened = await tdb.open();
    cleanup = opened.cleanup;
    store = createStore(opened.db);
    const messages = new MessageService(store, {
      maxRecipients: 100,
      maxSegments: 10,
      defaultValidityMinutes: 60,
      maxAttempts: 3,
    });
    otp = new OtpService(store, messages, {
      secret: undefined,
      cooldownS: 30,
      perNumberPerHour: 4,
      maxSends: 3,
      now: () => clock,
    });
    alice = {
      user: await store.users.create({ login: 'otp-alice', passwordHash: 'x', role: 'user' }),
      apiKeyId: null,
    };
    bob = {
      user: await store.users.create({ login: 'otp-bob', passwordHash: 'x', role: 'user' }),
      apiKeyId: null,
    };
  });
  afterAll(async () => {
    await cleanup();
  });

  /** The code, read from the text of the SMS that carried it. */
  const codeIn = async (messageId: string) => {
    const m = await store.messages.byId(messageId);
    return /code is ([A-Z0-9]+)/.exec(m?.text ?? '')?.[1] as string;
  };

  it('sends a code by template and verifies it once; only an HMAC is stored', async () => {
    const sent = await otp.send(alice, {
      to: '+15555550300',
      template: 'Your code is {code}, valid {ttl} min',
      ttlS: 120,
    });
    expect(sent).toMatchObject({ to: '+15555550300', status: 'pending', attempts_left: 5, sends: 1 });
    const m = await store.messages.byId(sent.message_id);
    expect(m?.text).toMatch(/^Your code is \d{6}, valid 2 min$/);
    const code = await codeIn(sent.message_id);
    const row = await store.db.kysely
      .selectFrom('otp_codes')
      .selectAll()
      .where('id', '=', sent.id)
      .executeTakeFirst();
    expect(row?.code_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(code);
    // Another account cannot verify (or see) it.
    await expect(otp.verify(bob, sent.id, code)).rejects.toMatchObject({ code: 'not_found' });
    expect(await otp.verify(alice, sent.id, code)).toEqual({ status: 'valid', attempts_left: 0 });
    // Used once: the same code again is invalid.
    expect((await otp.verify(alice, sent.id, code)).status).toBe('invalid');
    expect((await otp.get(alice, sent.id)).status).toBe('verified');
  });

  it('counts wrong codes and answers too_many_attempts after the last one, even for the right code', async () => {
    const sent = await otp.send(alice, {
      to: '+15555550301',
      maxAttempts: 3,
      length: 8,
      alphabet: 'alphanumeric',
    });
    const code = await codeIn(sent.message_id);
    expect(code).toMatch(/^[A-Z2-9]{8}$/);
    expect(await otp.verify(alice, sent.id, 'WRONG000')).toEqual({ status: 'invalid', attempts_left: 2 });
    expect(await otp.verify(alice, sent.id, '')).toEqual({ status: 'invalid', attempts_left: 1 });
    expect(await otp.verify(alice, sent.id, 'WRONG111')).toEqual({ status: 'invalid', attempts_left: 0 });
    expect((await otp.verify(alice, sent.id, code)).status).toBe('too_many_attempts');
    await expect(otp.resend(alice, sent.id)).rejects.toMatchObject({ code: 'conflict' });
  });

  it('expires after its TTL (clock moved), without counting the attempt', async () => {
    const sent = await otp.send(alice, { to: '+15555550302', ttlS: 60 });
    const code = await codeIn(sent.message_id);
    clock += 61_000;
    expect(await otp.verify(alice, sent.id, code)).toEqual({ status: 'expired', attempts_left: 5 });
  });

  it('resend: a new code replaces the old one (same replace id), after the cooldown only', async () => {
    const sent = await otp.send(alice, { to: '+15555550303', replaceId: 1, flash: true });
    const first = await codeIn(sent.message_id);
    await expect(otp.resend(alice, sent.id)).rejects.toMatchObject({ code: 'rate_limited' });
    clock += 30_000;
    const again = await otp.resend(alice, sent.id);
    expect(again.sends).toBe(2);
    expect(again.message_id).not.toBe(sent.message_id);
    const [m1, m2] = await Promise.all([
      store.messages.byId(sent.message_id),
      store.messages.byId(again.message_id),
    ]);
    expect(m1?.replace_id).toBe(1);
    expect(m2?.replace_id).toBe(1);
    expect(m2?.flash).toBe(1);
    const second = await codeIn(again.message_id);
    // The old code no longer works (unless the new one happens to be the same).
    if (first !== second) expect((await otp.verify(alice, sent.id, first)).status).toBe('invalid');
    expect((await otp.verify(alice, sent.id, second)).status).toBe('valid');
  });

  it('limits sends per number and hour, per account', async () => {
    const to = '+15555550304';
    for (let i = 0; i < 4; i++) await otp.send(alice, { to });
    await expect(otp.send(alice, { to })).rejects.toMatchObject({ code: 'rate_limited' });
    // Another account's limit is its own.
    await otp.send(bob, { to });
    clock += 3_600_001;
    await otp.send(alice, { to });
  });

  it('two concurrent verifies of the right code: exactly one is valid', async () => {
    for (let round = 0; round < 5; round++) {
      const sent = await otp.send(alice, { to: `+1555555031${round}` });
      const code = await codeIn(sent.message_id);
      const answers = await Promise.all(Array.from({ length: 6 }, () => otp.verify(alice, sent.id, code)));
      expect(answers.filter((a) => a.status === 'valid')).toHaveLength(1);
    }
  });

  it('refuses out-of-bounds requests with a 4xx code', async () => {
    await expect(otp.send(alice, { to: '+15555550305', length: 3 })).rejects.toMatchObject({ status: 400 });
    await expect(otp.send(alice, { to: '+15555550305', ttlS: 10 })).rejects.toMatchObject({ status: 400 });
    await expect(otp.send(alice, { to: '+15555550305', template: 'no code' })).rejects.toMatchObject({
      code: 'validation_failed',
      field: 'template',
    });
    await expect(otp.send(alice, { to: '+15555550305', alphabet: 'aa' })).rejects.toMatchObject({
      field: 'alphabet',
    });
    await expect(otp.send(alice, { to: 'nope' })).rejects.toMatchObject({ code: 'invalid_number' });
  });

  /** Makes every write of this kind to otp_codes fail in the database, for the duration of `fn`. */
  const failingOtpWrites = async (op: 'INSERT' | 'UPDATE', fn: () => Promise<void>) => {
    const db = store.db.kysely;
    if (tdb.name === 'sqlite') {
      await sql
        .raw(`CREATE TRIGGER otp_crash BEFORE ${op} ON otp_codes BEGIN SELECT RAISE(ABORT, 'crash'); END`)
        .execute(db);
    } else {
      await sql
        .raw(
          `CREATE OR REPLACE FUNCTION otp_crash() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'crash'; END $$ LANGUAGE plpgsql`,
        )
        .execute(db);
      await sql
        .raw(`CREATE TRIGGER otp_crash BEFORE ${op} ON otp_codes FOR EACH ROW EXECUTE FUNCTION otp_crash()`)
        .execute(db);
    }
    try {
      await fn();
    } finally {
      await sql
        .raw(tdb.name === 'sqlite' ? 'DROP TRIGGER otp_crash' : 'DROP TRIGGER otp_crash ON otp_codes')
        .execute(db);
    }
  };
  const messagesTo = (to: string) =>
    store.db.kysely.selectFrom('messages').select(['id', 'text']).where('to', '=', to).execute();

  it('a code whose row cannot be stored is never sent: the SMS and the OTP row commit together', async () => {
    const to = '+15555550320';
    await failingOtpWrites('INSERT', async () => {
      await expect(otp.send(alice, { to })).rejects.toThrow();
    });
    // No SMS carries a code that could never verify.
    expect(await messagesTo(to)).toEqual([]);
    const sent = await otp.send(alice, { to });
    expect(await messagesTo(to)).toHaveLength(1);
    expect((await otp.verify(alice, sent.id, await codeIn(sent.message_id))).status).toBe('valid');
  });

  it('a resend whose new code cannot be stored sends nothing, and the earlier code keeps working', async () => {
    const to = '+15555550321';
    const sent = await otp.send(alice, { to });
    clock += 30_000;
    await failingOtpWrites('UPDATE', async () => {
      await expect(otp.resend(alice, sent.id)).rejects.toThrow();
    });
    expect((await messagesTo(to)).map((m) => m.id)).toEqual([sent.message_id]);
    expect((await otp.verify(alice, sent.id, await codeIn(sent.message_id))).status).toBe('valid');
  });

  it('a resend whose SMS is refused keeps the earlier (sent) code working and its send count', async () => {
    const to = '+15555550322';
    const sent = await otp.send(alice, { to });
    const code = await codeIn(sent.message_id);
    clock += 30_000;
    // The number is blacklisted between the send and the resend: the new SMS is refused.
    await store.db.kysely
      .insertInto('number_lists')
      .values({
        kind: 'black',
        owner_id: alice.user.id,
        number: to,
        reason: 'test',
        source: 'manual',
        created_at: clock,
      })
      .execute();
    await expect(otp.resend(alice, sent.id)).rejects.toMatchObject({ code: 'blacklisted' });
    expect(await otp.get(alice, sent.id)).toMatchObject({ sends: 1, message_id: sent.message_id });
    // The code the user received still verifies: the refused resend stored no code of its own.
    expect(await otp.verify(alice, sent.id, code)).toEqual({ status: 'valid', attempts_left: 0 });
  });
});
