#!/usr/bin/env node
// Installed entry point: runs the compiled CLI when built, else the TypeScript source through tsx.
import { spawn } from 'node:child_process';
import process from 'node:process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const self = fileURLToPath(import.meta.url);
const root = join(dirname(self), '..');
const built = join(root, 'dist', 'cli', 'main.js');

/**
 * The node flags of `npm start` (package.json "start": `node <flags> dist/cli/main.js start`),
 * chosen for the gateway's memory (docs/benchmarks.md "Idle cost"). V8 reads them when the heap
 * is set up, so a running process cannot take them: `smsgw start` without them runs itself
 * again with them, passing signals on and exiting as the gateway does.
 */
function startFlags() {
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const [cmd, ...args] = String(pkg.scripts?.start ?? '')
      .trim()
      .split(/\s+/);
    return cmd === 'node' ? args.filter((a) => a.startsWith('--')) : [];
  } catch {
    return [];
  }
}

const missing = process.argv[2] === 'start' ? startFlags().filter((f) => !process.execArgv.includes(f)) : [];
if (missing.length > 0) {
  const child = spawn(process.execPath, [...process.execArgv, ...missing, self, ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
} else if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
