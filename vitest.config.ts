import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real sockets, real databases and spawned processes: give slow machines room.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Builds the dashboard and the sources under test once, before any file runs (files run side by side).
    globalSetup: ['test/support/global-setup.ts'],
    // The CLI speaks the locale's language (LC_ALL, LC_MESSAGES, LANG): tests expect English
    // unless they set one, whatever the machine's locale.
    env: { LC_ALL: '', LC_MESSAGES: '', LANG: 'C.UTF-8' },
  },
});
