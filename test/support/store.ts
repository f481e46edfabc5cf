/** A store for one describe block over one of the test databases (test/support/db.ts). */
import { afterAll, beforeAll } from 'vitest';
import type { Candidate, PolicyContext, PolicyRule, Verdict } from '../../src/policy/rule.js';
import type { Db } from '../../src/store/db.js';
import type { Store } from '../../src/store/index.js';
import { createStore } from '../../src/store/index.js';
import type { TestDb } from './db.js';

/**
 * Opens a store on `tdb` before the block's tests and hands it (and the database URL, PostgreSQL
 * only, and the database handle) to `opened`; closes it after them, dropping the PostgreSQL schema.
 */
export function storeForSuite(
  tdb: TestDb,
  opened: (store: Store, url: string | undefined, db: Db) => void,
): void {
  let cleanup: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const o = await tdb.open();
    opened(createStore(o.db), o.url, o.db);
    cleanup = o.cleanup;
  });
  afterAll(async () => {
    await cleanup?.();
  });
}

/** A policy rule's verdicts on `candidates` at `now`, checked in a transaction of its own. */
export function checkRule(
  db: Db,
  rule: PolicyRule,
  now: number,
  candidates: Candidate[],
): Promise<Map<string, Verdict>> {
  return db.kysely.transaction().execute((trx) => {
    const ctx: PolicyContext = { trx, dialect: db.dialect, caps: db.caps, now, sqlite: db.sqlite };
    return rule.check(ctx, candidates);
  });
}
