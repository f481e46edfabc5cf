/** The `smsgw` command, run as a process against a data directory, as an operator would. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, cli, cliFails, cliJson } from '../support/cli.js';

describe('smsgw CLI', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'smsgw-cli-'));
  const env = {
    ...process.env,
    SMSGW_DATA_DIR: dataDir,
    SMSGW_ADMIN_PASSWORD: 'cli-admin-password',
    SMSGW_LOG_LEVEL: 'silent',
  };
  const smsgw = (...args: string[]) => cliJson(args, { env });
  const fails = (...args: string[]) => cliFails(args, { env });

  it('migrates, manages users, keys and channels, queues and reports a message', async () => {
    const migrated = await smsgw('migrate');
    expect(migrated.created).toMatchObject({ login: 'admin', password: 'cli-admin-password' });
    expect((await smsgw('migrate')).created).toBeUndefined();

    const user = await smsgw('user', 'add', 'ops', '--password', 'ops-password');
    expect(user).toMatchObject({ login: 'ops', role: 'user' });
    expect(await fails('user', 'add', 'ops', '--password', 'ops-password')).toMatch(/taken/);
    expect(await fails('user', 'add', 'x', '--password', 'short')).toMatch(/8 characters/);
    await smsgw('user', 'block', 'ops');
    expect((await smsgw('user', 'list')).find((u: { login: string }) => u.login === 'ops').status).toBe(
      'blocked',
    );

    const key = await smsgw('key', 'create', 'admin', '--name', 'ci');
    expect(key.key).toMatch(/^sgw_/);
    expect((await smsgw('key', 'revoke', key.id)).revoked).toBe(true);

    await smsgw(
      'channel',
      'add',
      'modem-1',
      '--type',
      'modem',
      '--config',
      '{"port":"/dev/ttyUSB4"}',
      '--monthly-limit',
      '3000',
    );
    const channels = await smsgw('channel', 'list');
    expect(channels.find((c: { name: string }) => c.name === 'modem-1')).toMatchObject({
      type: 'modem',
      monthly_limit: 3000,
      used: 0,
    });
    await smsgw('channel', 'disable', 'modem-1');
    expect((await smsgw('channel', 'list')).find((c: { name: string }) => c.name === 'modem-1').enabled).toBe(
      false,
    );

    const sent = await smsgw(
      'send',
      '--to',
      '+79001234567,+79001234568',
      '--text',
      'Привет из CLI',
      '--flash',
    );
    expect(sent.accepted).toBe(2);
    const status = await smsgw('status', sent.messages[0].id);
    expect(status).toMatchObject({ to: '+79001234567', status: 'queued', segments: 1 });
    expect(status.events[0].status).toBe('queued');
    expect(await fails('status', 'nope')).toMatch(/no message/);
  }, 300_000);

  it('refuses to create a database anywhere but with start or migrate, and says where it looked', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'smsgw-cli-elsewhere-'));
    const other = { ...env, SMSGW_DATA_DIR: elsewhere };
    let stderr = '';
    try {
      await cli(['user', 'add', 'ops', '--password', 'ops-password'], { env: other, cwd: elsewhere });
    } catch (err) {
      stderr = (err as { stderr: string }).stderr;
    }
    expect(stderr).toContain(`no database at ${join(elsewhere, 'smsgw.db')}`);
    expect(stderr).toContain('smsgw migrate');
    expect(existsSync(join(elsewhere, 'smsgw.db'))).toBe(false);
  }, 60_000);

  it('--version, text output by default, channel edit and remove, key list, user passwd', async () => {
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
    expect((await cli(['--version'], { env })).stdout.trim()).toBe(version);
    await smsgw('migrate');
    // People get a table; scripts ask for --json.
    const table = (await cli(['user', 'list'], { env })).stdout;
    expect(table.split('\n')[0]).toMatch(/^ID\s+LOGIN\s+ROLE\s+STATUS$/);

    // An SMPP channel with no host: refused with the driver's reason, as the API refuses it.
    expect(await fails('channel', 'add', 'up', '-t', 'smpp', '-c', '{}')).toMatch(/channel config rejected/);
    expect(await fails('channel', 'add', 'up', '-t', 'carrier-pigeon')).toMatch(/Allowed choices/);
    expect(await fails('channel', 'add', 'up', '-t', 'smpp', '-c', '{nope')).toMatch(/not valid JSON/);
    await smsgw('channel', 'add', 'sim-2', '-t', 'simulator');
    expect(await fails('channel', 'edit', 'sim-2', '-c', '{"successRate": "lots"}')).toMatch(/rejected/);
    await smsgw('channel', 'edit', 'sim-2', '--rename', 'sim-3', '--interval-ms', '1000');
    const edited = (await smsgw('channel', 'list')).find((c: { name: string }) => c.name === 'sim-3');
    expect(edited).toBeDefined();
    expect((await smsgw('channel', 'remove', 'sim-3')).removed).toBe(true);
    expect(
      (await smsgw('channel', 'list')).find((c: { name: string }) => c.name === 'sim-3'),
    ).toBeUndefined();

    await smsgw('user', 'add', 'keyholder', '--password', 'keyholder-pw');
    const k = await smsgw('key', 'create', 'keyholder', '--name', 'billing');
    const keys = await smsgw('key', 'list', 'keyholder');
    expect(keys).toEqual([expect.objectContaining({ id: k.id, owner: 'keyholder', name: 'billing' })]);
    expect(JSON.stringify(keys)).not.toContain(k.key);
    expect((await smsgw('user', 'passwd', 'keyholder', '-p', 'another-password')).password).toBe('changed');
    expect(await fails('user', 'passwd', 'nobody', '-p', 'another-password')).toMatch(/no user/);
  }, 300_000);
});
