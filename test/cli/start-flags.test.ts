/**
 * `npm start` runs the compiled gateway with V8 flags chosen for memory (package.json "start",
 * docs/benchmarks.md "Idle cost"); the benches read the same line. A flag node does not know
 * would stop `npm start` before the gateway runs, so each is tried on this node. `smsgw start`
 * (bin/smsgw.js, what an installed package runs) uses the same flags.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compiledStartArgs, exited, freePort, waitReady } from '../support/net.js';

describe('npm start', () => {
  it('runs dist/cli/main.js start under node, with flags this node takes', () => {
    const args = compiledStartArgs();
    expect(args.slice(-2)).toEqual(['dist/cli/main.js', 'start']);
    const flags = args.slice(0, -2);
    expect(flags.length).toBeGreaterThan(0);
    const seen = execFileSync(process.execPath, [...flags, '-p', 'JSON.stringify(process.execArgv)'], {
      encoding: 'utf8',
    });
    expect((JSON.parse(seen) as string[]).slice(0, flags.length)).toEqual(flags);
  });
});

describe('bin/smsgw.js start', () => {
  it('runs the gateway under the flags of npm start and stops it on SIGTERM', async () => {
    const flags = compiledStartArgs().slice(0, -2);
    const port = await freePort();
    const proc = spawn(process.execPath, ['bin/smsgw.js', 'start'], {
      env: {
        ...process.env,
        SMSGW_PORT: String(port),
        SMSGW_HOST: '127.0.0.1',
        SMSGW_SMPP_PORT: '0',
        SMSGW_LOG_LEVEL: 'warn',
        SMSGW_DATA_DIR: mkdtempSync(join(tmpdir(), 'smsgw-bin-')),
      },
      stdio: 'ignore',
    });
    try {
      await waitReady(`http://127.0.0.1:${port}`, 240_000);
      // The process answering is the one started under the flags (bin/ ran itself again).
      const kids = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(/\s+/);
      expect(kids).toHaveLength(1);
      const argv = readFileSync(`/proc/${kids[0]}/cmdline`, 'utf8').split('\0');
      for (const f of flags) expect(argv).toContain(f);
      proc.kill('SIGTERM');
      await exited(proc);
      expect(proc.signalCode ?? proc.exitCode).toBe(0);
      expect(existsSync(`/proc/${kids[0]}`)).toBe(false);
    } finally {
      proc.kill('SIGKILL');
    }
  }, 300_000);
});
