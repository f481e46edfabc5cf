/**
 * Where a gateway's RSS is, sampled from inside it: preload with
 * `NODE_OPTIONS=--import=./bench/mem-split.mjs` in front of a bench that spawns the compiled
 * gateway (the variable is inherited); only the process running dist/cli/main.js samples. Every
 * 100 ms it splits /proc/self/smaps into the main malloc arena (`[heap]`: SQLite's page cache,
 * better-sqlite3), other anonymous memory (the V8 heap, thread arenas, stacks) and file-backed
 * pages, and appends a line to MEM_SPLIT_OUT (default mem-split.txt) each time RSS reaches a new
 * high. A sample on the main thread misses what happens while it is blocked (use VmHWM for that).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import process from 'node:process';
import { setInterval } from 'node:timers';

if (process.argv.some((a) => a.includes('dist/cli/main.js'))) {
  const out = process.env.MEM_SPLIT_OUT ?? 'mem-split.txt';
  const mb = (n) => (n / 1048576).toFixed(1);
  let peak = 0;
  setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss <= peak) return;
    peak = m.rss;
    let name = '';
    const kb = { heap: 0, anon: 0, file: 0 };
    for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
      if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) name = line.split(/\s+/)[5] ?? '';
      else if (line.startsWith('Rss:')) {
        const k = name === '[heap]' ? 'heap' : name === '' ? 'anon' : 'file';
        kb[k] += Number(line.split(/\s+/)[1]);
      }
    }
    appendFileSync(
      out,
      `t=${process.uptime().toFixed(1)} rss=${mb(m.rss)} v8_committed=${mb(m.heapTotal)} v8_used=${mb(m.heapUsed)} ` +
        `malloc_main=${mb(kb.heap * 1024)} anon_other_than_v8=${mb(kb.anon * 1024 - m.heapTotal)} file=${mb(kb.file * 1024)}\n`,
    );
  }, 100).unref();
}
