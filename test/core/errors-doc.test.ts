/**
 * One error registry, tested against its docs (fastify's errors.test.js style): every code in
 * src/core/errors.ts is documented in docs/errors.md with the same HTTP status, every documented
 * code exists, and every code literal in the sources is a registered one.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/core/errors.js';

const ROOT = join(import.meta.dirname, '../..');

function documented(): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of readFileSync(join(ROOT, 'docs/errors.md'), 'utf8').split('\n')) {
    const m = /^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|/.exec(line);
    if (m) out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('error registry and docs/errors.md', () => {
  const docs = documented();

  it('documents every registered code with its status', () => {
    for (const [code, { status }] of Object.entries(ERRORS)) {
      expect(docs.get(code), `docs/errors.md: ${code}`).toBe(status);
    }
  });

  it('registers every documented code', () => {
    for (const code of docs.keys())
      expect(Object.hasOwn(ERRORS, code), `src/core/errors.ts: ${code}`).toBe(true);
  });

  it('uses no unregistered code literal in the sources', () => {
    const unknown = new Set<string>();
    for (const file of sources(join(ROOT, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bcode: '([a-z_]+)'/g)) {
        if (!Object.hasOwn(ERRORS, m[1] as string)) unknown.add(`${m[1]} (${file})`);
      }
    }
    expect([...unknown]).toEqual([]);
  });
});
