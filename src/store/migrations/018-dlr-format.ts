/**
 * 018: the shape of a message's delivery callback. NULL is Kannel's (`dlr_url` a pattern with
 * `%`-placeholders, called with GET); `jasmin-get` / `jasmin-post` is Jasmin's HTTP API (`dlr-url`
 * a plain URL, called with `id`, `message_status`, `level`, ... as a query string or a form body,
 * acknowledged by the receiver's `ACK/Jasmin`). Which events are called stays in `dlr_mask`.
 */
import type { Kysely } from 'kysely';
import type { Dialect } from '../db.js';

export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema.alterTable('messages').addColumn('dlr_format', 'text').execute();
}
