/** The `smsgw` command, run as a process against a data directory, as an operator would. */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('smsgw CLI', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'smsgw-cli-'));
  const env = {
    ...process.env,
    SMSGW_DATA_DIR: dataDir,
    SMSGW_ADMIN_PASSWORD: 'cli-admin-password',
    SMSGW_LOG_LEVEL: 'silent',
  };
  const smsgw = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env });
    return JSON.parse(stdout) as any;
  };
  const fails = async (...args: string[]) => {
    try {
      await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env });
    } catch (err) {
      return (err as { stderr: string; code: number }).stderr;
    }
    throw new Error('expected the command to fail');
  };

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
  }, 60_000);
});
