import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDb } from '../../src/store/db.js';

/** SQLite's page cache is resident memory once filled (issue 13): its size is a setting. */
describe('SQLite page cache size', () => {
  const base = { SMSGW_DATA_DIR: '/tmp/smsgw-config-test' };

  it('is 16 MiB unless SMSGW_SQLITE_CACHE_MIB says otherwise, and refuses nonsense', () => {
    expect(loadConfig(base).sqliteCacheMib).toBe(16);
    expect(loadConfig({ ...base, SMSGW_SQLITE_CACHE_MIB: '128' }).sqliteCacheMib).toBe(128);
    expect(() => loadConfig({ ...base, SMSGW_SQLITE_CACHE_MIB: '0' })).toThrow(/SMSGW_SQLITE_CACHE_MIB/);
    expect(() => loadConfig({ ...base, SMSGW_SQLITE_CACHE_MIB: 'lots' })).toThrow(/SMSGW_SQLITE_CACHE_MIB/);
  });

  it('is what the connection is opened with (negative cache_size: KiB)', async () => {
    for (const [mib, kib] of [
      [undefined, -16 * 1024],
      [3, -3 * 1024],
    ] as const) {
      const db = await openDb({ sqlitePath: ':memory:', ...(mib ? { sqliteCacheMib: mib } : {}) });
      try {
        expect(db.sqlite?.pragma('cache_size', { simple: true })).toBe(kib);
      } finally {
        await db.close();
      }
    }
  });
});
