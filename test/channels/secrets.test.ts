import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveSecrets } from '../../src/channels/secrets.js';

describe('secret references in channel configs', () => {
  it('resolves env: and file: references anywhere in the config, leaving other values alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smsgw-secret-'));
    writeFileSync(join(dir, 'key'), '-----BEGIN KEY-----');
    const cfg = {
      mode: 'ssh',
      ssh: { password: 'env:SMSC_PW', privateKey: `file:${join(dir, 'key')}`, host: 'h' },
      list: ['env:SMSC_PW'],
    };
    expect(resolveSecrets(cfg, { SMSC_PW: 's3cret' })).toEqual({
      mode: 'ssh',
      ssh: { password: 's3cret', privateKey: '-----BEGIN KEY-----', host: 'h' },
      list: ['s3cret'],
    });
  });

  it('says which reference is missing without printing anything secret', () => {
    expect(() => resolveSecrets({ password: 'env:NOPE' }, {})).toThrow(/NOPE .*not set/);
    expect(() => resolveSecrets({ key: 'file:/no/such/file' })).toThrow(/cannot read \/no\/such\/file/);
  });
});
