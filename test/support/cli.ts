/** The `smsgw` command run as an operator runs it: a separate process, from any directory. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** tsx by path: from another directory `--import tsx` would not resolve. */
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs `smsgw ...args`; rejects (with stdout/stderr/code) when it exits non-zero. */
export function cli(args: string[], opts: CliOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', TSX, join(ROOT, 'src/cli/main.ts'), ...args], {
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
