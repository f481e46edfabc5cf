/** `smsgw blacklist|whitelist|caps|price|credit` as an operator runs them, against a data directory. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { cli, cliFails, cliJson } from '../support/cli.js';

describe('smsgw CLI: sending policy', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'smsgw-cli-policy-'));
  const env = {
    ...process.env,
    SMSGW_DATA_DIR: dataDir,
    SMSGW_ADMIN_PASSWORD: 'cli-admin-password',
    SMSGW_LOG_LEVEL: 'silent',
  };
  const raw = async (...args: string[]) => (await cli(args, { env })).stdout;
  const smsgw = (...args: string[]) => cliJson(args, { env });
  const fails = (...args: string[]) => cliFails(args, { env });

  it('manages lists (with CSV), caps, prices and credit', async () => {
    await smsgw('migrate');
    await smsgw('user', 'add', 'shop', '--password', 'shop-password');
    expect(await smsgw('blacklist', 'add', '+44 7700 900001', '--reason', 'complaint')).toEqual({
      number: '+447700900001',
      added: true,
    });
    const file = join(dataDir, 'in.csv');
    writeFileSync(file, 'number,reason\n+447700900002,"a, b"\nnope\n');
    expect(await smsgw('blacklist', 'import', file, '--user', 'shop')).toMatchObject({
      added: 1,
      invalid_count: 1,
    });
    const csv = parse(await raw('blacklist', 'export', '--user', 'shop'), { columns: true }) as Record<
      string,
      string
    >[];
    expect(csv).toMatchObject([{ number: '+447700900002', reason: 'a, b', source: 'csv' }]);
    expect((await smsgw('blacklist', 'remove', '+447700900002', '--user', 'shop')).removed).toBe(true);

    expect(await smsgw('caps', 'set', 'hour=5', 'day=10')).toEqual([
      { category: null, period: 'day', max: 10 },
      { category: null, period: 'hour', max: 5 },
    ]);
    expect(await fails('caps', 'set', 'week=1')).toMatch(/period=max/);
    expect(await smsgw('price', 'set', '44', '3')).toMatchObject({ prefix: '44', per_segment: 3 });
    expect(await smsgw('credit', 'shop', '100', '--mode', 'prepaid')).toEqual({
      login: 'shop',
      mode: 'prepaid',
      balance: 100,
    });
    expect(await fails('credit', 'nobody', '1')).toMatch(/no user/);
  }, 300_000);
});
