import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Files that measure wall-clock spacing finer than a loaded machine keeps: they run after the
 * rest, one at a time. test/e2e/cluster.test.ts checks sends at its SMSC sink are never closer
 * than 950 ms for a 1 s interval; the sink shares its event loop with the two gateways, and with
 * another file beside it the sink stamped one 54 ms late (946 ms, full run with 2 workers, load 13).
 */
const ALONE = ['test/e2e/cluster.test.ts'];

export default defineConfig({
  test: {
    // Real sockets, real databases and spawned processes: give slow machines room.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time on the 2-core CI machine (vitest's default there is one, cores - 1):
    // most of a file's time is spent waiting on processes, sockets and databases. The files
    // share nothing: ports are the kernel's (0) or freePort(), directories mkdtemp, PostgreSQL
    // a schema each, and what several files need built is built once, in the global setup.
    // Full runs back to back (load 2-5): 366 s with 2, 407 s with 3 (--maxWorkers=3); one at a
    // time it took 1,535 s (load 7-11).
    maxWorkers: 2,
    // The CLI speaks the locale's language (LC_ALL, LC_MESSAGES, LANG): tests expect English
    // unless they set one, whatever the machine's locale.
    env: { LC_ALL: '', LC_MESSAGES: '', LANG: 'C.UTF-8' },
    // Each project names its own files (include lists are merged with the root's, not replaced).
    projects: [
      {
        extends: true,
        test: {
          name: 'side-by-side',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...ALONE],
          // Builds the dashboard and the sources under test once, before any file runs.
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
      // maxWorkers 1 puts these in vitest's sequential group, run after the others.
      { extends: true, test: { name: 'alone', include: ALONE, maxWorkers: 1 } },
    ],
  },
});
