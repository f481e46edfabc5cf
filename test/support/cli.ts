/**
 * The `smsgw` command run as an operator runs it: a separate process, from any directory. It is
 * the sources under test compiled by the global setup (build.ts), as `npm start` runs the build
 * in dist/: through the tsx loader each command took 4.5 s instead of 1.2 s (global-setup.ts).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT, compiledCli } from './build.js';

const run = promisify(execFile);

export { ROOT };

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs `smsgw ...args`; rejects (with stdout/stderr/code) when it exits non-zero. */
export function cli(args: string[], opts: CliOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [compiledCli(), ...args], {
    env: opts.env ?? process.env,
    cwd: opts.cwd ?? ROOT,
  });
}

/** Runs `smsgw --json ...args` and parses what it prints. */
export async function cliJson<T = any>(args: string[], opts: CliOptions = {}): Promise<T> {
  return JSON.parse((await cli(['--json', ...args], opts)).stdout) as T;
}

/** Runs a command that must fail; resolves with its stderr. */
export async function cliFails(args: string[], opts: CliOptions = {}): Promise<string> {
  try {
    await cli(args, opts);
  } catch (err) {
    return (err as { stderr: string }).stderr;
  }
  throw new Error(`expected "smsgw ${args.join(' ')}" to fail`);
}
