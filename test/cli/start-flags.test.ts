/**
 * `npm start` runs the compiled gateway with V8 flags chosen for memory (package.json "start",
 * docs/benchmarks.md "Idle cost"); the benches read the same line. A flag node does not know
 * would stop `npm start` before the gateway runs, so each is tried on this node.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { compiledStartArgs } from '../support/net.js';

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
