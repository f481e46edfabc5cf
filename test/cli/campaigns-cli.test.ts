/** `smsgw contacts import` and `smsgw campaign …`, run as processes against a data directory. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';

describe('smsgw contacts / campaign CLI', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'smsgw-cli-campaigns-'));
  const env = {
    ...process.env,
    SMSGW_DATA_DIR: dataDir,
    SMSGW_ADMIN_PASSWORD: 'cli-admin-password',
    SMSGW_LOG_LEVEL: 'silent',
  };
  const smsgw = async (...args: string[]) => (await cli(args, { env })).stdout;

  it('imports a file with its refused rows, then lists, shows, pauses, resumes and cancels a campaign', async () => {
    await smsgw('migrate');
    const file = join(dataDir, 'list.csv');
    writeFileSync(file, 'phone;name\n+393370000001;Anna\nnope;Bad\n+393370000002;Bruno\n');
    const report = JSON.parse(await smsgw('contacts', 'import', file, '--group', 'cli', '--json'));
    expect(report).toMatchObject({ status: 'done', rows_total: 3, rows_imported: 2, rows_refused: 1 });
    expect(report.refused_first).toEqual([expect.objectContaining({ line: 3 })]);
    expect(await smsgw('contacts', 'import', file)).toMatch(/2 imported, 1 refused of 3\n {2}line 3: /);

    // A campaign made through the service (the API's path), then handled from the CLI.
    const { openDb } = await import('../../src/store/db.js');
    const { createStore } = await import('../../src/store/index.js');
    const { CampaignService } = await import('../../src/services/campaigns.js');
    const store = createStore(await openDb({ sqlitePath: join(dataDir, 'smsgw.db') }));
    const admin = (await store.users.byLogin('admin'))!;
    const group = (await store.book.groupByName(admin.id, 'cli'))!;
    const c = await new CampaignService(store).create(
      { user: admin, apiKeyId: null },
      {
        name: 'from cli',
        text: 'Hi {name}',
        audience: { group_ids: [group.id] },
        send_at: '2030-01-01T09:00',
        time_zone: 'Europe/Rome',
      },
    );
    await store.close();

    const list = JSON.parse(await smsgw('--json', 'campaign', 'list'));
    expect(list).toEqual([
      expect.objectContaining({ id: c.id, status: 'scheduled', send_at: '2030-01-01T08:00:00.000Z' }),
    ]);
    expect(await smsgw('campaign', 'list')).toContain(`${c.id as string}  scheduled  0/2`);
    expect(JSON.parse(await smsgw('campaign', 'show', c.id as string, '--json')).progress).toMatchObject({
      total: 2,
      pending: 2,
    });
    expect(JSON.parse(await smsgw('campaign', 'pause', c.id as string, '--json')).status).toBe('paused');
    expect(JSON.parse(await smsgw('campaign', 'resume', c.id as string, '--json')).status).toBe('scheduled');
    expect(await smsgw('campaign', 'cancel', c.id as string)).toContain('canceled');
    await expect(smsgw('campaign', 'resume', c.id as string)).rejects.toThrow(/cannot be resumed/);
  }, 120_000);
});
