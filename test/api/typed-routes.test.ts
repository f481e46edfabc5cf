/**
 * Every route reads its body, query string and path parameters through the TypeBox type
 * provider (issue 18 item 4): the types come from the same schemas that validate the request,
 * so no handler restates them with a cast (`req.body as …`) that could drift from the schema.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const ROUTES = join(import.meta.dirname, '../../src/api/http');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

it('has no req.body/query/params casts in the HTTP routes', () => {
  const casts = sources(ROUTES).flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => (/req\.(body|query|params) as\b/.test(line) ? [`${file}:${i + 1}`] : [])),
  );
  expect(casts).toEqual([]);
});
