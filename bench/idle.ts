/**
 * `npm run bench:idle`: what a gateway doing nothing costs. Starts it as `npm start` does
 * (compiled dist/) and under the tsx loader, five times each, interleaved; reports medians of
 * the time from spawn to a healthy /readyz, of the RSS once idle (3 s after ready) and of the CPU
 * it uses idle (user + system from /proc over the IDLE_CPU_S seconds after that, 10 by default),
 * in CPU-ms per second: the polls of every loop that runs when nothing happens.
 * IDLE_RUNS: starts each way (5). IDLE_BASE_DIR=<checkout>: also that checkout's build as its
 * `npm start` runs it, interleaved (before/after figures of a change).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compiledStartArgs, exited, freePort, waitReady } from '../test/support/net.js';
import { cpuSeconds, machine, median, writeSection } from './support.js';

const RUNS = Number(process.env.IDLE_RUNS ?? 5);
const CPU_S = Number(process.env.IDLE_CPU_S ?? 10);

function rssMb(proc: ChildProcess): number {
  const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

interface Once {
  readyMs: number;
  rss: number;
  cpuMsPerS: number;
}

async function once(args: string[], cwd: string): Promise<Once> {
  const port = await freePort();
  const env = {
    ...process.env,
    SMSGW_PORT: String(port),
    SMSGW_HOST: '127.0.0.1',
    SMSGW_SMPP_PORT: '0',
    SMSGW_LOG_LEVEL: 'warn',
    SMSGW_DATA_DIR: mkdtempSync(join(tmpdir(), 'smsgw-idle-')),
  };
  const started = performance.now();
  const proc = spawn(process.execPath, args, { cwd, env, stdio: 'ignore' });
  // Generous: under the tsx loader on a machine shared with other test runs, a start took over 60 s.
  await waitReady(`http://127.0.0.1:${port}`, 300_000);
  const readyMs = performance.now() - started;
  await new Promise((r) => setTimeout(r, 3000));
  const rss = rssMb(proc);
  const cpu0 = cpuSeconds(proc.pid);
  await new Promise((r) => setTimeout(r, CPU_S * 1000));
  const cpuMsPerS = ((cpuSeconds(proc.pid) - cpu0) * 1000) / CPU_S;
  proc.kill('SIGTERM');
  await exited(proc);
  return { readyMs, rss, cpuMsPerS };
}

async function main() {
  execFileSync(process.execPath, ['scripts/build-server.mjs'], { stdio: 'inherit' });
  const here = process.cwd();
  const base = process.env.IDLE_BASE_DIR;
  const variants: Record<string, [string[], string]> = {
    ...(base ? { [`compiled, base (${base})`]: [compiledStartArgs(base), base] } : {}),
    [`compiled (\`npm start\`: ${compiledStartArgs().join(' ')})`]: [compiledStartArgs(), here],
    'tsx loader': [['--import', 'tsx', 'src/cli/main.ts', 'start'], here],
  };
  const results = new Map<string, Once[]>();
  for (let i = 0; i < RUNS; i++) {
    for (const [name, [args, cwd]] of Object.entries(variants)) {
      const r = await once(args, cwd);
      results.set(name, [...(results.get(name) ?? []), r]);
    }
  }
  const lines = [
    `Command: \`${process.env.IDLE_RUNS ? `IDLE_RUNS=${RUNS} ` : ''}${process.env.IDLE_CPU_S ? `IDLE_CPU_S=${CPU_S} ` : ''}${base ? `IDLE_BASE_DIR=${base} ` : ''}npm run bench:idle\` — a fresh SQLite gateway with the simulator channel, started ${RUNS} times each way, interleaved; medians. Machine: ${machine()}.`,
    '',
    `| start | healthy after ms | idle RSS MB | idle CPU-ms per s (runs, over ${CPU_S} s) | median |`,
    '|---|---|---|---|---|',
  ];
  for (const [name, rs] of results) {
    lines.push(
      `| ${name} | ${median(rs.map((r) => r.readyMs)).toFixed(0)} | ${median(rs.map((r) => r.rss)).toFixed(0)} | ${rs
        .map((r) => r.cpuMsPerS.toFixed(1))
        .join(', ')} | ${median(rs.map((r) => r.cpuMsPerS)).toFixed(1)} |`,
    );
  }
  writeSection('Idle cost', lines.join('\n'));
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
