/** Loopback helpers shared by tests and benchmarks that run the gateway as a separate process. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { compiledCli } from './build.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * The arguments `npm start` gives node in the checkout at `root` (package.json "start", e.g.
 * `node --max-semi-space-size=… dist/cli/main.js start`), so a bench runs the compiled gateway
 * with the same V8 flags an operator gets, and an A/B run against another checkout with that
 * checkout's.
 */
export function compiledStartArgs(root = process.cwd()): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [cmd, ...args] = pkg.scripts.start.trim().split(/\s+/);
  if (cmd !== 'node') throw new Error(`package.json "start" must run node, not ${cmd}`);
  return args;
}

/**
 * `smsgw start` as its own process: by default from the sources under test through tsx (no build
 * step); `compiled` runs the build in dist/ (`npm run build`), as `npm start` does; `'test-build'`
 * runs the tests' bundle of the sources under test (dist-test/, vitest's global setup) under
 * npm start's node flags: what ships, without a step of its own, and started in about half the
 * time tsx takes. `opts.cwd`: another checkout (a benchmark's base build); `opts.nodeArgs`: e.g.
 * `--cpu-prof`.
 */
export function spawnGateway(
  env: Record<string, string>,
  compiled: boolean | 'test-build' = false,
  opts: { cwd?: string; nodeArgs?: string[] } = {},
): ChildProcess {
  const args =
    compiled === 'test-build'
      ? [...compiledStartArgs().slice(0, -2), compiledCli(), 'start']
      : compiled
        ? compiledStartArgs(opts.cwd)
        : ['--import', 'tsx', 'src/cli/main.ts', 'start'];
  return spawn(process.execPath, [...(opts.nodeArgs ?? []), ...args], {
    cwd: opts.cwd,
    env: { ...process.env, SMSGW_HOST: '127.0.0.1', SMSGW_SMPP_PORT: '0', SMSGW_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

export async function waitReady(url: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gateway at ${url} did not become ready`);
}

/** Resolves when the process has exited, also if it already had. */
export function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}
