/**
 * The CLI speaks the operator's language (issue 18): --lang, else LC_ALL, LC_MESSAGES, LANG as
 * POSIX tools read them; its own messages, its help and the API errors it relays. JSON output
 * keeps its field names and values (for scripts); only sentences change.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, cliFails, cliJson } from '../support/cli.js';

describe('smsgw CLI in six languages', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'smsgw-cli-i18n-'));
  const base = {
    ...process.env,
    LC_ALL: '',
    LC_MESSAGES: '',
    LANG: 'C.UTF-8',
    SMSGW_DATA_DIR: dataDir,
    SMSGW_ADMIN_PASSWORD: 'cli-admin-password',
    SMSGW_LOG_LEVEL: 'silent',
  };
  beforeAll(async () => {
    await cliJson(['migrate'], { env: base });
  }, 60_000);

  it('--lang ru: its own refusal in Russian', async () => {
    const stderr = await cliFails(['--lang', 'ru', 'user', 'passwd', 'nobody', '-p', 'another-password'], {
      env: base,
    });
    expect(stderr).toBe('smsgw: нет пользователя «nobody»\n');
  }, 60_000);

  it('LANG=fa_IR.UTF-8: Persian; LC_ALL wins over LANG; --lang over both', async () => {
    const fa = await cliFails(['user', 'add', 'x', '--password', 'short'], {
      env: { ...base, LANG: 'fa_IR.UTF-8' },
    });
    expect(fa).toBe('smsgw: گذرواژه باید دست‌کم ۸ نویسه باشد\n');
    const de = await cliFails(['channel', 'remove', 'nowhere'], {
      env: { ...base, LANG: 'ru_RU.UTF-8', LC_ALL: 'de_DE.UTF-8' },
    });
    expect(de).toBe('smsgw: kein Kanal „nowhere“\n');
    const it_ = await cliFails(['--lang=it', 'key', 'revoke', 'k1'], {
      env: { ...base, LC_ALL: 'de_DE.UTF-8' },
    });
    expect(it_).toBe('smsgw: nessuna chiave k1\n');
  }, 60_000);

  it('the missing database is explained in Chinese, from another directory', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'smsgw-cli-i18n-elsewhere-'));
    const stderr = await cliFails(['user', 'list'], {
      env: { ...base, SMSGW_DATA_DIR: elsewhere, LANG: 'zh_CN.UTF-8' },
      cwd: elsewhere,
    });
    expect(stderr).toContain(`${join(elsewhere, 'smsgw.db')} 处没有数据库`);
    expect(stderr).toContain('smsgw migrate');
  }, 60_000);

  it('help in the language; JSON keeps its fields and values', async () => {
    const help = (await cli(['--help'], { env: { ...base, LANG: 'ru_RU.UTF-8' } })).stdout;
    expect(help).toContain('SMS-шлюз на своём сервере');
    expect(help).toContain('Поставить сообщение в очередь');
    const added = await cliJson(['--lang', 'zh', 'user', 'add', 'ops', '-p', 'ops-password'], { env: base });
    expect(added).toMatchObject({ login: 'ops', role: 'user' });
    const key = await cliJson(['--lang', 'de', 'key', 'create', 'ops'], { env: base });
    expect(key.key).toMatch(/^sgw_/);
    expect(key.note).toBe('wird nur einmal angezeigt; jetzt speichern');
  }, 60_000);

  it('an unknown language is English', async () => {
    const stderr = await cliFails(['user', 'passwd', 'nobody', '-p', 'another-password'], {
      env: { ...base, LANG: 'ja_JP.UTF-8' },
    });
    expect(stderr).toBe('smsgw: no user "nobody"\n');
  }, 60_000);
});
