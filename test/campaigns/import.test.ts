/**
 * Streaming contact import over HTTP on SQLite and PostgreSQL: 100,000 rows with 1 % bad rows.
 * The good ones are in (count and spot checks), every bad one is in the report with its line.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { PG_URL, pgSchemaUrl } from '../support/db.js';

const ROWS = 100_000;
const auth = { authorization: `Bearer ${ADMIN_KEY}` };

/** Row i (0-based) is on line i + 2; every 100th is bad, in one of four ways. */
function row(i: number): { text: string; bad?: string } {
  const n = `+3933${String(10_000_000 + i).slice(-8)}`;
  if (i % 100 === 57) {
    switch (((i / 100) % 4) | 0) {
      case 0:
        return { text: `not-a-number,Bad ${i},Roma,`, bad: 'digits' };
      case 1:
        return { text: `,No number ${i},Roma,`, bad: 'no phone number' };
      case 2:
        return { text: `12,Short ${i},Roma,`, bad: '3 to 15 digits' };
      default:
        return { text: `${n},Zone ${i},Roma,Mars/Olympus`, bad: 'not a time zone' };
    }
  }
  return { text: `${n},"Name, ${i}",${i % 2 ? 'Roma' : 'Milano'},${i % 3 ? '' : 'Europe/Rome'}` };
}

function* csv(): Generator<string> {
  yield 'Phone,Name,City,TZ\n';
  let chunk = '';
  for (let i = 0; i < ROWS; i++) {
    chunk += `${row(i).text}\n`;
    if (chunk.length > 64 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  yield chunk;
}

const backends: {
  name: string;
  env: () => Promise<{ env: Record<string, string>; drop(): Promise<void> }>;
}[] = [
  { name: 'sqlite', env: async () => ({ env: {}, drop: async () => undefined }) },
  ...(PG_URL
    ? [
        {
          name: 'postgres',
          env: async () => {
            const s = await pgSchemaUrl();
            return { env: { DATABASE_URL: s.url }, drop: s.drop };
          },
        },
      ]
    : []),
];

describe.each(backends)('contact import ($name)', ({ env }) => {
  let t: TestApp;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const e = await env();
    drop = e.drop;
    t = await startTestApp(e.env);
  });
  afterAll(async () => {
    await t?.stop();
    await drop?.();
  });

  it(`imports ${ROWS.toLocaleString('en')} streamed rows; every refused row is reported with its line`, async () => {
    const res = await fetch(`${t.url}/v1/contacts/import?group=customers`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/csv' },
      body: Readable.toWeb(Readable.from(csv())) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    const report = (await res.json()) as Record<string, any>;
    expect(res.status).toBe(201);
    const bad = Array.from({ length: ROWS }, (_, i) => i).filter((i) => row(i).bad);
    expect(bad.length).toBe(ROWS / 100);
    expect(report).toMatchObject({
      status: 'done',
      rows_total: ROWS,
      rows_imported: ROWS - bad.length,
      rows_refused: bad.length,
    });

    const errors = await fetch(`${t.url}${report.errors_url}`, { headers: auth });
    const bytes = Buffer.from(await errors.arrayBuffer());
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const text = bytes.toString('utf8');
    expect(text.startsWith('\uFEFFline,reason,row\r\n')).toBe(true);
    const lines = text.trim().split('\r\n').slice(1);
    expect(lines).toHaveLength(bad.length);
    lines.forEach((l, k) => {
      const i = bad[k] as number;
      expect(Number(l.split(',')[0])).toBe(i + 2);
      expect(l).toContain(row(i).bad as string);
    });

    const groups = await t.call('GET', '/v1/groups');
    expect(groups.body.data).toEqual([
      expect.objectContaining({ name: 'customers', members: ROWS - bad.length }),
    ]);
    const one = await t.call('GET', `/v1/contacts/${encodeURIComponent('+393310000003')}`);
    expect(one.body).toMatchObject({
      number: '+393310000003',
      name: 'Name, 3',
      time_zone: 'Europe/Rome',
      fields: { City: 'Roma' },
    });
    const search = await t.call('GET', '/v1/contacts?q=name,%2099999');
    expect(search.body.data.map((c: any) => c.number)).toEqual(['+393310099999']);
  }, 120_000);

  it('dedupes by number, maps headers, detects ; and shows the STOP state; exports with a BOM', async () => {
    const body =
      'telefono;nome;lingua;città\n+39 333 111 2222;Anna;it;Roma\n00393331112222;Anna B.;;\n+393331113333;Carlo;;Napoli\n';
    const res = await fetch(`${t.url}/v1/contacts/import?map=città:field`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/plain' },
      body,
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ rows_total: 3, rows_imported: 3, rows_refused: 0 });
    const anna = await t.call('GET', '/v1/contacts/+393331112222');
    // The second line updated the first: one contact, the newer name, the older fields kept.
    expect(anna.body).toMatchObject({
      name: 'Anna B.',
      language: 'it',
      fields: { città: 'Roma' },
      opted_out: false,
    });
    await t.app.store.optOuts.add(
      t.app.auth ? (await t.app.store.users.byLogin('admin'))!.id : '',
      '+393331113333',
      'STOP',
    );
    const carlo = await t.call('GET', '/v1/contacts/+393331113333');
    expect(carlo.body.opted_out).toBe(true);
    const exp = await fetch(`${t.url}/v1/contacts/export.csv?group_id=none`, { headers: auth });
    expect(
      Buffer.from(await exp.arrayBuffer())
        .toString('utf8')
        .startsWith('\uFEFFnumber,name'),
    ).toBe(true);
  });

  it('takes a multipart upload and refuses a file without a number column', async () => {
    const form = new FormData();
    form.append('file', new Blob(['number,name\n+393339990001,Zed\n']), 'list.csv');
    const res = await fetch(`${t.url}/v1/contacts/import`, { method: 'POST', headers: auth, body: form });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ rows_imported: 1 });
    const noNumber = await fetch(`${t.url}/v1/contacts/import`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/csv' },
      body: 'name,city\nAnna,Roma\n',
    });
    expect(noNumber.status).toBe(400);
    expect(((await noNumber.json()) as any).error.field).toBe('mapping');
    const other = await t.call('POST', '/v1/users', {
      body: { login: 'other-import', password: 'other-password-1' },
    });
    expect([200, 201]).toContain(other.status);
    const theirs = await t.call('GET', '/v1/contacts', { auth: 'other-import:other-password-1' });
    expect(theirs.body.data).toEqual([]);
  });
});
