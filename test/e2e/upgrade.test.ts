/**
 * Upgrade: a database made by the previous release (7083921, migrations 001–008; how it was made
 * is in test/fixtures/README.md) migrates and serves. Today's gateway starts on a copy of it,
 * applies 009 and 010, serves the old messages with their statuses, parts and events, the old
 * keys and passwords still authenticate, the scheduled messages still wait (one is canceled, the
 * other is sent once it is due), and new messages go through end to end.
 */
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, eventually, startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';

const RELEASE = '7083921';
/** Generous: under a loaded shared box the simulator channel may take a while (it takes ~1 s idle). */
const SLOW_MS = 120_000;
const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

interface Manifest {
  adminKey: string;
  adminPassword: string;
  user: { id: string; login: string; password: string; key: string };
  channelId: string;
  messages: {
    single: string;
    multipart: string;
    undelivered: string;
    failed: string;
    scheduledDue: string;
    scheduledCancel: string;
    canceled: string;
    bulk: string[];
    userMessage: string;
  };
  statuses: Record<string, string>;
}

const manifest = JSON.parse(readFileSync(join(FIXTURES, `manifest-${RELEASE}.json`), 'utf8')) as Manifest;
const M = manifest.messages;

/** What the old release stored, read from the fixture itself: the test compares, not recites. */
function readOld() {
  const db = new Database(join(FIXTURES, `smsgw-${RELEASE}.db`), { readonly: true, fileMustExist: true });
  try {
    const migrations = (
      db.prepare('select name from smsgw_migrations order by name').all() as { name: string }[]
    ).map((r) => r.name);
    const events = new Map<string, string[]>();
    for (const e of db.prepare('select message_id, status from message_events order by id').all() as {
      message_id: string;
      status: string;
    }[]) {
      events.set(e.message_id, [...(events.get(e.message_id) ?? []), e.status]);
    }
    const parts = new Map<string, { seq: number; remote_id: string | null; status: string }[]>();
    for (const p of db
      .prepare('select message_id, seq, remote_id, status from message_parts order by seq')
      .all() as {
      message_id: string;
      seq: number;
      remote_id: string | null;
      status: string;
    }[]) {
      parts.set(p.message_id, [
        ...(parts.get(p.message_id) ?? []),
        { seq: p.seq, remote_id: p.remote_id, status: p.status },
      ]);
    }
    const messages = db.prepare('select id, status, segments, "to", text from messages').all() as {
      id: string;
      status: string;
      segments: number;
      to: string;
      text: string;
    }[];
    return { migrations, events, parts, messages };
  } finally {
    db.close();
  }
}

describe(`upgrade from release ${RELEASE}`, () => {
  const old = readOld();
  const dataDir = mkdtempSync(join(tmpdir(), 'smsgw-upgrade-'));
  const env = {
    SMSGW_DATA_DIR: dataDir,
    // The fixture's messages are dated when it was made; retention must not race the test.
    SMSGW_RETENTION_MESSAGES_DAYS: '0',
    SMSGW_RETENTION_INBOUND_DAYS: '0',
  };
  let t: TestApp;
  const admin = manifest.adminKey;

  beforeAll(async () => {
    copyFileSync(join(FIXTURES, `smsgw-${RELEASE}.db`), join(dataDir, 'smsgw.db'));
    t = await startTestApp(env);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('is the previous release: migrations 001–008 only, messages in every state', () => {
    expect(old.migrations).toEqual([
      '001-init',
      '002-delivery',
      '003-smpp-credentials',
      '004-transliterate',
      '005-sessions',
      '006-pinned-channel',
      '007-smpp-receipts',
      '008-event-tx',
    ]);
    expect(new Set(old.messages.map((m) => m.status))).toEqual(
      new Set(['delivered', 'undelivered', 'failed', 'scheduled', 'canceled']),
    );
  });

  it('applies the new migrations on start', () => {
    const db = new Database(join(dataDir, 'smsgw.db'), { readonly: true, fileMustExist: true });
    try {
      const names = (
        db.prepare('select name from smsgw_migrations order by name').all() as { name: string }[]
      ).map((r) => r.name);
      expect(names.slice(0, old.migrations.length)).toEqual(old.migrations);
      expect(names).toContain('009-lifecycle');
      expect(names).toContain('010-repair-non-finite');
    } finally {
      db.close();
    }
  });

  it('keeps the old admin key, the second user, their passwords and key; bootstraps nothing new', async () => {
    expect((await t.call('GET', '/v1/me', { auth: admin })).body.login).toBe('admin');
    expect((await t.call('GET', '/v1/me', { auth: `admin:${manifest.adminPassword}` })).body.login).toBe(
      'admin',
    );
    const alice = await t.call('GET', '/v1/me', { auth: manifest.user.key });
    expect(alice.status).toBe(200);
    expect(alice.body).toMatchObject({ id: manifest.user.id, login: manifest.user.login, role: 'user' });
    const byPassword = await t.call('GET', '/v1/me', {
      auth: `${manifest.user.login}:${manifest.user.password}`,
    });
    expect(byPassword.body.id).toBe(manifest.user.id);
    // Not a first start: the test's own admin key was not created.
    expect((await t.call('GET', '/v1/me', { auth: ADMIN_KEY })).status).toBe(401);
    expect((await t.call('GET', '/v1/me', { auth: `${manifest.user.login}:wrong-password-1` })).status).toBe(
      401,
    );
    const users = await t.call('GET', '/v1/users', { auth: admin });
    expect(users.body.data.map((u: { login: string }) => u.login).sort()).toEqual(['admin', 'alice']);
  });

  it('serves every old message with its status, parts and events', async () => {
    for (const m of old.messages) {
      const res = await t.call('GET', `/v1/messages/${m.id}`, { auth: admin });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: m.id, status: manifest.statuses[m.id], to: m.to, text: m.text });
      expect(res.body.status).toBe(m.status);
      // Old messages asked for reports (the column's default); final ones stay final.
      expect(res.body.delivery_report).toBe(true);
      expect(res.body.final).toBe(['delivered', 'undelivered', 'failed', 'canceled'].includes(m.status));
      expect(res.body.events.map((e: { status: string }) => e.status)).toEqual(old.events.get(m.id));
      expect(
        res.body.parts.map((p: { seq: number; remote_id: string | null; status: string }) => ({
          seq: p.seq,
          remote_id: p.remote_id,
          status: p.status,
        })),
      ).toEqual(old.parts.get(m.id) ?? []);
    }
    const multipart = await t.call('GET', `/v1/messages/${M.multipart}`, { auth: admin });
    expect(multipart.body.segments).toBe(2);
    expect(multipart.body.parts).toHaveLength(2);
  });

  it('serves the history lists: the admin sees all, the user only her own, filters work', async () => {
    const all = await t.call('GET', '/v1/messages?limit=500', { auth: admin });
    expect(all.status).toBe(200);
    expect(new Set(all.body.data.map((m: { id: string }) => m.id))).toEqual(
      new Set(old.messages.map((m) => m.id)),
    );
    const mine = await t.call('GET', '/v1/messages', { auth: manifest.user.key });
    expect(mine.body.data.map((m: { id: string }) => m.id)).toEqual([M.userMessage]);
    const undelivered = await t.call('GET', '/v1/messages?status=undelivered,failed', { auth: admin });
    expect(undelivered.body.data.map((m: { id: string }) => m.id).sort()).toEqual(
      [M.undelivered, M.failed].sort(),
    );
    const page = await t.call('GET', '/v1/messages?limit=4', { auth: admin });
    expect(page.body.data).toHaveLength(4);
    const rest = await t.call('GET', `/v1/messages?limit=500&cursor=${page.body.next_cursor}`, {
      auth: admin,
    });
    expect(page.body.data.length + rest.body.data.length).toBe(old.messages.length);
    const inbound = await t.call('GET', '/v1/inbound', { auth: admin });
    expect(inbound.status).toBe(200);
    expect(inbound.body.data.map((m: { text: string }) => m.text)).toContain('fixture inbound');
  });

  it('keeps the scheduled messages waiting, and one can be canceled', async () => {
    for (const id of [M.scheduledDue, M.scheduledCancel]) {
      const res = await t.call('GET', `/v1/messages/${id}`, { auth: admin });
      expect(res.body).toMatchObject({
        status: 'scheduled',
        final: false,
        send_at: '2099-01-01T00:00:00.000Z',
      });
    }
    const canceled = await t.call('DELETE', `/v1/messages/${M.scheduledCancel}`, { auth: admin });
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({ status: 'canceled', final: true });
    // An old final message cannot be canceled.
    expect((await t.call('DELETE', `/v1/messages/${M.single}`, { auth: admin })).status).toBe(409);
  });

  const fresh: Record<string, string> = {};
  it(
    'sends new messages end to end through the old channel and its rules',
    async () => {
      const send = async (body: unknown, auth: string) => {
        const res = await t.call('POST', '/v1/messages', { auth, body });
        expect(res.status).toBe(202);
        return res.body.messages[0].id as string;
      };
      fresh.single = await send({ to: '+14155550130', text: 'after the upgrade' }, admin);
      fresh.multipart = await send(
        { to: '+14155550131', text: 'after the upgrade, long '.padEnd(300, 'y') },
        admin,
      );
      fresh.user = await send({ to: '+14155550132', text: 'alice after the upgrade' }, manifest.user.key);
      // The old channel's rule (prefix +1555000 → unknown subscriber) still applies.
      fresh.undelivered = await send({ to: '+15550009999', text: 'after the upgrade, rule' }, admin);
      const expected: Record<string, string> = {
        single: 'delivered',
        multipart: 'delivered',
        user: 'delivered',
        undelivered: 'undelivered',
      };
      for (const [name, id] of Object.entries(fresh)) {
        const m = await eventually(async () => {
          const res = await t.call('GET', `/v1/messages/${id}`, { auth: admin });
          return res.body.final ? res.body : undefined;
        }, 60_000);
        expect(m.status).toBe(expected[name]);
        expect(m.channel_id).toBe(manifest.channelId);
        expect(m.parts).toHaveLength(name === 'multipart' ? 2 : 1);
      }
      const mine = await t.call('GET', '/v1/messages', { auth: manifest.user.key });
      expect(mine.body.data.map((m: { id: string }) => m.id)).toEqual([fresh.user, M.userMessage]);
    },
    SLOW_MS,
  );

  it(
    'sends the old scheduled message once it is due, after a restart on the upgraded database',
    async () => {
      await t.stop();
      // The fixture's schedule is in 2099: move it to the past, as time would, while stopped.
      const db = new Database(join(dataDir, 'smsgw.db'), { fileMustExist: true });
      const due = Date.now() - 1000;
      const changed = db
        .prepare('update messages set send_at = ?, next_attempt_at = ? where id = ? and status = ?')
        .run(due, due, M.scheduledDue, 'scheduled').changes;
      db.close();
      expect(changed).toBe(1);
      t = await startTestApp(env);
      const m = await eventually(async () => {
        const res = await t.call('GET', `/v1/messages/${M.scheduledDue}`, { auth: admin });
        return res.body.final ? res.body : undefined;
      }, 60_000);
      expect(m.status).toBe('delivered');
      expect(m.events.map((e: { status: string }) => e.status)).toEqual([
        'scheduled',
        'sending',
        'sent',
        'delivered',
      ]);
      // A restart applies nothing twice and loses nothing.
      expect((await t.call('GET', `/v1/messages/${M.scheduledCancel}`, { auth: admin })).body.status).toBe(
        'canceled',
      );
      expect((await t.call('GET', `/v1/messages/${fresh.single}`, { auth: admin })).body.status).toBe(
        'delivered',
      );
      const all = await t.call('GET', '/v1/messages?limit=500', { auth: admin });
      expect(all.body.data).toHaveLength(old.messages.length + Object.keys(fresh).length);
    },
    SLOW_MS,
  );
});
