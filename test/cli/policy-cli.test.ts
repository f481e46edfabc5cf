/** `smsgw template|signature|policy`, run as a process against a data directory. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliFails, cliJson } from '../support/cli.js';
import { createStore, openDb, sqlitePathFor } from '../../src/store/index.js';

describe('smsgw review and policy commands', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'smsgw-cli-policy-'));
  const env = {
    ...process.env,
    SMSGW_DATA_DIR: dataDir,
    SMSGW_ADMIN_PASSWORD: 'cli-admin-password',
    SMSGW_LOG_LEVEL: 'silent',
  };
  const smsgw = (...args: string[]) => cliJson(args, { env });
  const fails = (...args: string[]) => cliFails(args, { env });

  it('lists the review queue, rejects and approves with audit rows, switches templates-only', async () => {
    await smsgw('migrate');
    const user = await smsgw('user', 'add', 'shop', '--password', 'shop-password');
    // The user submits through the API; here straight into the store, as the API would.
    const db = await openDb({ sqlitePath: sqlitePathFor(dataDir) });
    const store = createStore(db);
    const t = await store.templates.create(
      {
        owner_id: user.id,
        kind: 'template',
        name: 'n',
        text: 'Code {c}',
        category: 'verification',
        placement: null,
        variables: null,
      },
      user.id,
    );
    await store.close();

    const queue = await smsgw('template', 'list', '--status', 'pending');
    expect(queue.map((r: { id: string }) => r.id)).toEqual([t.id]);
    expect(await smsgw('template', 'reject', t.id, '--reason', 'too short')).toMatchObject({
      status: 'rejected',
      reason: 'too short',
    });
    expect(await fails('template', 'approve', t.id)).toMatch(/no pending template/);
    expect(await smsgw('template', 'list', '--status', 'pending')).toEqual([]);

    expect(await smsgw('policy', 'templates-only', 'shop', 'on')).toEqual({
      login: 'shop',
      templates_only: true,
    });
    expect((await smsgw('policy', 'show', 'shop')).templatesOnly).toBe(true);
    expect(await fails('send', '--to', '+4915112345678', '--text', 'free', '--as', 'shop')).toMatch(
      /template_required/,
    );

    const check = createStore(await openDb({ sqlitePath: sqlitePathFor(dataDir) }));
    const history = await check.templates.history(t.id);
    await check.close();
    expect(history.map((h) => [h.action, h.after_status, h.reason])).toEqual([
      ['submitted', 'pending', null],
      ['rejected', 'rejected', 'too short'],
    ]);
  }, 180_000);
});
