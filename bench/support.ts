/** Shared benchmark plumbing: spawn the real gateway, free ports, percentiles, docs/benchmarks.md sections. */
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compiledStartArgs, exited, freePort, spawnGateway, waitReady } from '../test/support/net.js';
import { CMD, Writer } from '../src/codec/smpp-pdu.js';

export { freePort };

/**
 * The gateway in its own process with a fresh data directory; `compiled`: from dist/, `opts`:
 * another checkout's build or node flags (see spawnGateway).
 */
export async function startGateway(
  env: Record<string, string>,
  compiled = false,
  opts: { cwd?: string; nodeArgs?: string[]; readyTimeoutMs?: number } = {},
): Promise<{ url: string; proc: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'smsgw-bench-'));
  const proc = spawnGateway({ SMSGW_PORT: String(port), SMSGW_DATA_DIR: dataDir, ...env }, compiled, opts);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, opts.readyTimeoutMs);
  } catch (err) {
    // Not left running behind a failed bench.
    proc.kill('SIGTERM');
    await exited(proc);
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    url,
    proc,
    stop: async () => {
      proc.kill('SIGTERM');
      await exited(proc);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The compiled gateway (`dist/`, `npm run build` first) in its own process with a fresh data
 * directory, for the send-side benches. Read from the environment, `<prefix>` being the bench's:
 * `<prefix>_PROF=dir` runs it under `node --cpu-prof` (the profile is left in dir);
 * `<prefix>_GATEWAY_DIR=<checkout>` runs another checkout's build (A/B against the code before).
 */
export async function startCompiled(
  prefix: string,
  env: Record<string, string>,
): Promise<{ url: string; proc: ChildProcess; dataDir: string }> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), `smsgw-${prefix.toLowerCase()}-`));
  const profDir = process.env[`${prefix}_PROF`];
  const prof = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  const cwd = process.env[`${prefix}_GATEWAY_DIR`] ?? process.cwd();
  const proc = spawn(process.execPath, [...prof, ...compiledStartArgs(cwd)], {
    cwd,
    env: {
      ...process.env,
      SMSGW_HOST: '127.0.0.1',
      SMSGW_SMPP_PORT: '0',
      SMSGW_LOG_LEVEL: 'warn',
      SMSGW_PORT: String(port),
      SMSGW_DATA_DIR: dataDir,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    // Slow to start on a saturated machine (load average 30: over a minute): give it three.
    await waitReady(url, 180_000);
  } catch (err) {
    // Not left running (it holds the bench's stderr, so a pipe after the bench would never end).
    proc.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return { url, proc, dataDir };
}

/** The peak resident memory of a process so far (VmHWM), in MB. */
export function peakRssMb(pid: number | undefined): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return percentile(s, 50);
}

export function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}`;
}

/** Replaces (or appends) the section `## title` of docs/benchmarks.md. */
export function writeSection(title: string, body: string): void {
  const file = 'docs/benchmarks.md';
  const doc = existsSync(file)
    ? readFileSync(file, 'utf8')
    : '# Benchmarks\n\nEvery figure here is written by the command named in its section; re-run it to check.\n';
  const heading = `## ${title}`;
  const start = doc.indexOf(heading);
  const section = `${heading}\n\n${body.trim()}\n`;
  let out: string;
  if (start === -1) out = `${doc.trimEnd()}\n\n${section}`;
  else {
    const next = doc.indexOf('\n## ', start + heading.length);
    out = doc.slice(0, start) + section + (next === -1 ? '' : doc.slice(next));
  }
  writeFileSync(file, out.endsWith('\n') ? out : `${out}\n`);
  // The file is checked by `npm run lint`: keep it in prettier's shape (aligned tables).
  execFileSync('npx', ['prettier', '--log-level', 'warn', '--write', file], { stdio: 'inherit' });
}

/** JSON API call with the bench admin key. */
export async function api(
  url: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<any> {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return res.json();
}

/** bind_transceiver for the bench ESMEs (SMPP 3.4, no address range). */
export function bindTransceiverPdu(systemId: string, password: string): Buffer {
  return new Writer()
    .cstring(systemId)
    .cstring(password)
    .cstring('')
    .u8(0x34)
    .u8(1)
    .u8(1)
    .cstring('')
    .pdu(CMD.bind_transceiver, 0, 0x7ffffff0);
}

/** A promise with its resolve function outside, for socket-driven bench loops. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc (Linux; NaN elsewhere).
 * On a shared, noisy machine a process's CPU time varies far less than wall-clock throughput.
 */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Resident memory (VmRSS) of a process in MB, from /proc (Linux; NaN when it is gone or elsewhere). */
export function rssMb(pid: number | undefined): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? NaN : Number(kb) / 1024;
  } catch {
    return NaN;
  }
}

/**
 * Samples the summed RSS of some processes every `everyMs` and keeps the peak; `stop()` returns
 * it in MB. Sampling (not /proc's VmHWM) so a peak can be taken over one run of a longer-lived
 * process, and so several processes (Kannel's two boxes) add up at the same moment.
 */
export function peakRss(pids: (number | undefined)[], everyMs = 50): { stop(): number } {
  let peak = 0;
  const sample = () => {
    const sum = pids.reduce<number>((n, pid) => n + (rssMb(pid) || 0), 0);
    if (sum > peak) peak = sum;
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

/** Resolves when `done()` holds (checked every 5 ms); rejects after `timeoutMs` with `progress()`. */
export async function waitUntil(
  done: () => boolean,
  timeoutMs: number,
  progress: () => string,
): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > until) throw new Error(`not done after ${timeoutMs} ms: ${progress()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
