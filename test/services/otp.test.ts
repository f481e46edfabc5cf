/**
 * OTP service over a real database (SQLite, and PostgreSQL when SMSGW_TEST_DATABASE_URL is set)
 * with an injected clock: the code read from the stored message text verifies once; a wrong
 * code is counted; expiry; too many attempts; a resend replaces the earlier code (replace id
 * kept, old code dead) and waits for its cooldown; the per-number limit; concurrent verifies of
 * the right code succeed once; only an HMAC of the code is stored.
 */
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
});
