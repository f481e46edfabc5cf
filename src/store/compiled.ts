/**
 * Hand-written SQL for the accepting transaction's hot path (the sending policy), one text per
 * dialect, run through Kysely's connection (so inside its transaction) without building a query.
 *
 * Why: Kysely builds a query anew on every call, and for an `IN (…)` of 400 numbers or a
 * multi-row upsert of 400 rows the building cost more than the database work — the frequency
 * caps (two counter upserts per message through Kysely) added 74–84 % to accepting a batch,
 * credits (the ledger rows) 19–48 % (`BENCH_ROUNDS=30 npx tsx bench/policy.ts`). Here the text
 * is fixed (SQLite prepares it once: db.ts keeps prepared statements) and a whole list travels as
 * ONE parameter: a JSON array read with `json_each` on SQLite, a typed array (`= any($1)`,
 * `unnest`) on PostgreSQL. One query per batch, whatever its size, and no chunking.
 */
import type SQLite from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { CompiledQuery } from 'kysely';
import type { Dialect } from './db.js';
import type { Database } from './schema.js';

/** Where a statement runs: a transaction (or the database), its dialect, SQLite's handle. */
export interface SqlTarget {
  readonly trx: Kysely<Database>;
  readonly dialect: Dialect;
  readonly sqlite?: SQLite.Database | undefined;
}

/** The same statement for both databases; parameters are bound in the same order. */
export interface DialectSql {
  sqlite: string;
  postgres: string;
}

/**
 * Runs a fixed statement in the transaction and returns its rows (RETURNING included). With
 * SQLite's handle (the connection under `trx`), straight through better-sqlite3: Kysely's driver
 * round (async, result plugins) cost about as much as a small query itself.
 */
export async function runSql<R>(
  { trx, dialect, sqlite }: SqlTarget,
  q: DialectSql,
  params: readonly unknown[],
): Promise<R[]> {
  if (dialect === 'sqlite' && sqlite) {
    const stmt = rowStatement(sqlite, q.sqlite);
    if (stmt.reader) return stmt.all(...params) as R[];
    stmt.run(...params);
    return [];
  }
  const r = await trx.executeQuery<R>(
    CompiledQuery.raw(dialect === 'sqlite' ? q.sqlite : q.postgres, [...params]),
  );
  return r.rows;
}

/**
 * Runs a fixed statement whose only column is a key (`owner_id || '|' || number as k`) and
 * returns the keys as a set: what the policy's list lookups need (is this pair on the list?).
 * On SQLite the statement is plucked, so no row object is made: a row object of two strings and
 * the key built from it in JS cost more than the lookup itself — consent's 1,000 standing
 * consents took 1.48 µs a recipient as objects, 0.85 µs as plucked keys (better-sqlite3, the
 * same index; CPU medians of 200 interleaved rounds).
 */
export async function runKeys(
  { trx, dialect, sqlite }: SqlTarget,
  q: DialectSql,
  params: readonly unknown[],
): Promise<Set<string>> {
  if (dialect === 'sqlite' && sqlite) {
    return new Set(keyStatement(sqlite, q.sqlite).all(...params) as string[]);
  }
  const r = await trx.executeQuery<{ k: string }>(
    CompiledQuery.raw(dialect === 'sqlite' ? q.sqlite : q.postgres, [...params]),
  );
  return new Set(r.rows.map((row) => row.k));
}

/**
 * A list as one parameter: JSON text for SQLite's `json_each(?)`, the array itself for
 * PostgreSQL's `= any($n::text[])` / `unnest($n::…[])`.
 */
export function listParam(dialect: Dialect, values: readonly unknown[]): unknown {
  return dialect === 'sqlite' ? JSON.stringify(values) : values;
}

/** `col IN (the list in parameter n)` in each dialect (n counts from 1, as PostgreSQL does). */
export function inList(col: string, n: number, pgType = 'text'): DialectSql {
  return {
    sqlite: `${col} in (select value from json_each(?))`,
    postgres: `${col} = any($${n}::${pgType}[])`,
  };
}

const prepared = new WeakMap<SQLite.Database, Map<string, SQLite.Statement>>();
const plucked = new WeakMap<SQLite.Database, Map<string, SQLite.Statement>>();

/**
 * SQLite: a statement run once per row (a message), prepared once per database handle. Through
 * better-sqlite3 directly a small upsert costs 2–3 µs; through Kysely's driver (an async round
 * with its plugins) several times that, which at 1,000 recipients a request is the difference
 * between a rule that costs 10 % of accepting them and one that costs half.
 */
export function rowStatement(sqlite: SQLite.Database, text: string): SQLite.Statement {
  return cached(prepared, sqlite, text, false);
}

/** `rowStatement`'s plucked twin, kept apart: pluck is a state of the statement. */
function keyStatement(sqlite: SQLite.Database, text: string): SQLite.Statement {
  return cached(plucked, sqlite, text, true);
}

function cached(
  by: WeakMap<SQLite.Database, Map<string, SQLite.Statement>>,
  sqlite: SQLite.Database,
  text: string,
  pluck: boolean,
): SQLite.Statement {
  let byText = by.get(sqlite);
  if (!byText) by.set(sqlite, (byText = new Map()));
  let stmt = byText.get(text);
  if (!stmt) byText.set(text, (stmt = pluck ? sqlite.prepare(text).pluck() : sqlite.prepare(text)));
  return stmt;
}
