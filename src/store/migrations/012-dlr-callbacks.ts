/**
 * 012: Kannel-style delivery callbacks (`/cgi-bin/sendsms` with `dlr-url` and `dlr-mask`). The
 * URL pattern, with its `%`-placeholders still in it, and the mask of Kannel DLR types the
 * sender asked for are kept with the message; the event fan-out fills the pattern when the
 * message reaches a status the mask names, and queues a GET in the webhook outbox.
 */
import type { Kysely } from 'kysely';
import type { Dialect } from '../db.js';

export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema.alterTable('messages').addColumn('dlr_url', 'text').execute();
  await db.schema.alterTable('messages').addColumn('dlr_mask', 'integer').execute();
}
