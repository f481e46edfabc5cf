/**
 * Heavy reads in slices (store/slices.ts) through the real server: the history, its text search,
 * the CSV export and the statistics walk 30,000 messages in slices of 5,000 and pages of 250 and
 * still give exactly what one query over the whole table gives; the export is pulled by the
 * client and ends when the client goes away; smsgw_messages is counted once per sample.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 } from 'uuid';
import type { ListFilter } from '../../src/store/messages.js';
import type { MessageRow } from '../../src/store/schema.js';
import type { TestApp } from '../support/app.js';
import { ADMIN_KEY, eventually, startTestApp } from '../support/app.js';

const N = 30_000;
const DAY = 86_400_000;
/** Long enough that the export (~22 MB) cannot fit in the socket buffers of loopback. */
const LONG_TEXT = 'Your parcel is on its way. '.repeat(24);

describe('heavy reads in slices', () => {
  let t: TestApp;
  let alice: string;
  let aliceId: string;
  const sqlite = () => t.app.store.db.sqlite as NonNullable<TestApp['app']['store']['db']['sqlite']>;

  beforeAll(async () => {
    t = await startTestApp({ SMSGW_SIMULATOR: 'false' });
    await t.call('POST', '/v1/users', { body: { login: 'alice', password: 'alice-password' } });
    alice = (await t.call('POST', '/v1/keys', { auth: 'alice:alice-password', body: { name: 'k' } })).body
      .key;
    aliceId = (await t.call('GET', '/v1/me', { auth: alice })).body.id;
    // 30,000 final messages over the last 10 days, written straight into the file: every 3rd
    // alice's, every 20th failed (two reasons), two with a rare word far apart in the history.
    const cols = [
      'id',
      'owner_id',
      'batch_id',
      'to',
      'text',
      'encoding',
      'segments',
      'flash',
      'expires_at',
      'status',
      'error_code',
      'attempts',
      'max_attempts',
      'tries_per_attempt',
      'next_attempt_at',
      'report_requested',
      'created_at',
      'updated_at',
      'final_at',
    ];
    const insert = sqlite().prepare(
      `insert into messages (${cols.map((c) => `"${c}"`).join(',')}) values (${cols.map(() => '?').join(',')})`,
    );
    const start = Date.now() - 10 * DAY;
    sqlite().transaction(() => {
      for (let i = 0; i < N; i++) {
        const at = start + Math.floor((i * 10 * DAY) / N);
        const failed = i % 20 === 0;
        insert.run(
          v7({ msecs: at }),
          i % 3 === 0 ? aliceId : 'someone-else',
          `batch-${Math.floor(i / 1000)}`,
          `+1555${String(i).padStart(7, '0')}`,
          i === 7 || i === 29_990 ? `${LONG_TEXT} Needle ${i}` : LONG_TEXT,
          'gsm7',
          4,
          0,
          at + DAY,
          failed ? 'failed' : 'delivered',
          failed ? (i % 40 === 0 ? 'no_route' : 'rejected') : null,
          1,
          3,
          1,
          at,
          1,
          at,
          at,
          at,
        );
      }
    })();
  });
  afterAll(() => t?.stop());

  const ids = (sql: string, ...args: unknown[]) =>
    (
      sqlite()
        .prepare(sql)
        .pluck()
        .all(...args) as string[]
    ).slice();

  it('counts smsgw_messages once per sample, and what it counts is the table', async () => {
    const repo = t.app.store.messages;
    const original = repo.countByStatus.bind(repo);
    let counts = 0;
    repo.countByStatus = () => {
      counts++;
      return original();
    };
    try {
      const first = (await t.call('GET', '/metrics')).body as string;
      const second = (await t.call('GET', '/metrics')).body as string;
      expect(counts).toBe(1);
      const truth = sqlite().prepare('select status, count(*) n from messages group by status').all() as {
        status: string;
        n: number;
      }[];
      for (const { status, n } of truth) {
        expect(first).toContain(`smsgw_messages{status="${status}"} ${n}\n`);
        expect(second).toContain(`smsgw_messages{status="${status}"} ${n}\n`);
      }
    } finally {
      repo.countByStatus = original;
    }
  });

  it('pages the history across slices: every row once, newest first, as one query would', async () => {
    const seen: string[] = [];
    let cursor = '';
    for (;;) {
      const page = await t.call('GET', `/v1/messages?status=failed&limit=500${cursor}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((m: { id: string }) => m.id));
      if (!page.body.next_cursor) break;
      cursor = `&cursor=${page.body.next_cursor}`;
    }
    expect(seen).toEqual(ids(`select id from messages where status = 'failed' order by id desc`));
    // One user's history walks (owner_id, id); a time window becomes an id window.
    const since = new Date(Date.now() - 7 * DAY).toISOString();
    const until = new Date(Date.now() - 3 * DAY).toISOString();
    const mine = await t.call('GET', `/v1/messages?limit=500&since=${since}&until=${until}`, { auth: alice });
    expect(mine.body.data.map((m: { id: string }) => m.id)).toEqual(
      ids(
        'select id from messages where owner_id = ? and created_at >= ? and created_at < ? order by id desc limit 500',
        aliceId,
        Date.parse(since),
        Date.parse(until),
      ),
    );
  });

  it('finds a rare word anywhere in the history, the oldest included', async () => {
    const hits = await t.call('GET', '/v1/messages?q=needle&limit=10');
    expect(hits.body.data.map((m: { text: string }) => /Needle \d+$/.exec(m.text)?.[0])).toEqual([
      'Needle 29990',
      'Needle 7',
    ]);
    expect((await t.call('GET', '/v1/messages?q=nothing-like-it')).body.data).toEqual([]);
  });

  it('exports every row once, newest first, with the same statistics as one query', async () => {
    const res = await fetch(`${t.url}/v1/messages/export?status=failed,delivered`, {
      headers: { authorization: `Bearer ${alice}` },
    });
    expect(res.status).toBe(200);
    const rows = (await res.text()).trimEnd().split('\r\n').slice(1);
    expect(rows.map((l) => l.slice(0, 36))).toEqual(
      ids('select id from messages where owner_id = ? order by id desc', aliceId),
    );

    const since = new Date(Date.now() - 30 * DAY).toISOString();
    const stats = await t.call('GET', `/v1/stats?since=${since}&bucket=day`);
    expect(stats.status).toBe(200);
    expect(stats.body.totals.messages).toBe(N);
    expect(stats.body.totals.segments).toBe(4 * N);
    expect(stats.body.totals.failed).toBe(N / 20);
    const perDay = sqlite()
      .prepare('select created_at / 86400000 * 86400000 d, count(*) n from messages group by d order by d')
      .all() as { d: number; n: number }[];
    const series = new Map(
      stats.body.series.map((p: { start: string; messages: number }) => [Date.parse(p.start), p.messages]),
    );
    for (const { d, n } of perDay) expect(series.get(d)).toBe(n);
    expect(stats.body.failure_reasons).toEqual([
      { code: 'no_route', count: N / 40 },
      { code: 'rejected', count: N / 40 },
    ]);
    const aliceStats = await t.call('GET', `/v1/stats?since=${since}`, { auth: alice });
    expect(aliceStats.body.totals.messages).toBe(N / 3);
  });

  it('exports only as fast as the client reads, and stops when the client goes away', async () => {
    const repo = t.app.store.messages;
    const original = repo.pages.bind(repo);
    let produced = 0;
    let ended = false;
    repo.pages = async function* (
      f: Omit<ListFilter, 'limit'>,
      pageRows: number,
    ): AsyncGenerator<MessageRow[]> {
      try {
        for await (const rows of original(f, pageRows)) {
          produced += rows.length;
          yield rows;
        }
      } finally {
        ended = true;
      }
    };
    try {
      const abort = new AbortController();
      const res = await fetch(`${t.url}/v1/messages/export`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
        signal: abort.signal,
      });
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      expect((await reader.read()).done).toBe(false);
      // The client reads no more: the server stops reading pages once the socket is full.
      let last = -1;
      const held = await eventually(async () => {
        await new Promise((r) => setTimeout(r, 500));
        const now = produced;
        const steady = now === last;
        last = now;
        return steady ? now : undefined;
      });
      expect(held).toBeGreaterThan(0);
      expect(held).toBeLessThan(N);
      expect(ended).toBe(false);
      abort.abort();
      await eventually(async () => (ended ? true : undefined));
      expect(produced).toBeLessThan(N);
    } finally {
      repo.pages = original;
    }
  });
});
