/** Row helpers shared by the message repositories: event rows and fast multi-row inserts. */
import type SQLite from 'better-sqlite3';
import type { Transaction } from 'kysely';
import type { Database, NewMessage, NewMessageEvent } from './schema.js';

/** Rows per multi-row INSERT: stays under SQLite's bound-parameter limit with ~35 columns. */
export const INSERT_CHUNK = 400;

export function event(
  messageId: string,
  ownerId: string,
  status: string,
  errorCode: string | null,
  detail: string | null,
  channelId: string | null,
  at: number,
): NewMessageEvent {
  return {
    message_id: messageId,
    owner_id: ownerId,
    status,
    error_code: errorCode,
    detail,
    channel_id: channelId,
    created_at: at,
  };
}

export type BulkInsert = <T extends 'messages' | 'message_events'>(
  trx: Transaction<Database>,
  table: T,
  rows: T extends 'messages' ? NewMessage[] : NewMessageEvent[],
) => Promise<void>;

/**
 * SQLite: one prepared single-row INSERT per table, run once per row. better-sqlite3 binds a
 * row in microseconds, where building a 400-row multi-value query costs milliseconds.
 */
export function sqliteBulkInsert(sqlite: SQLite.Database): BulkInsert {
  const statements = new Map<string, SQLite.Statement>();
  return async (_trx, table, rows) => {
    const first = rows[0] as Record<string, unknown> | undefined;
    if (!first) return;
    const columns = Object.keys(first);
    const key = `${table}:${columns.join(',')}`;
    let stmt = statements.get(key);
    if (!stmt) {
      const names = columns.map((c) => `"${c}"`).join(', ');
      stmt = sqlite.prepare(
        `insert into "${table}" (${names}) values (${columns.map(() => '?').join(', ')})`,
      );
      statements.set(key, stmt);
    }
    // Positional binding: about twice as fast as named parameters for wide rows. One array for
    // all the rows (run binds it before it returns): a fresh one a row was garbage of ~35 slots
    // per message in the accepting path.
    const values: unknown[] = new Array(columns.length);
    for (const row of rows as Record<string, unknown>[]) {
      for (let i = 0; i < columns.length; i++) values[i] = row[columns[i] as string];
      stmt.run(values);
    }
  };
}

export async function insertChunked<T extends 'messages' | 'message_events'>(
  trx: Transaction<Database>,
  table: T,
  rows: T extends 'messages' ? NewMessage[] : NewMessageEvent[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    await trx
      .insertInto(table)
      .values(rows.slice(i, i + INSERT_CHUNK) as never)
      .execute();
  }
}
