/**
 * 025: what each message was charged moves out of the ledger into `credit_charges` (issue 14's
 * cost). The accepting transaction wrote one ledger row per charged message: a row and four
 * index entries (user, the unique message + kind, message), about 7 µs of CPU a message with its
 * commit, half of accepting it. Now the ledger gets one `charge` row per accepted batch and owner
 * (the sum, the balance after it), and each message's charge is one row of a table keyed by the
 * message id alone (SQLite: WITHOUT ROWID, one b-tree), read by refunds and replace_sm's
 * adjustment. Charges already in the ledger are copied over (of messages retention has not deleted: it deletes
 * a charge with its message); their ledger rows stay as history.
 *
 * `prices_prefix_length`: the longest prefix in the price list, read per batch from this index,
 * so a batch looks up only the prefixes that can exist (3 per number for a list whose longest
 * prefix has 2 digits, instead of every prefix of the number).
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Dialect } from '../db.js';

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('credit_charges')
    .addColumn('message_id', 'text', (c) => c.primaryKey())
    .addColumn('amount', dialect === 'postgres' ? 'bigint' : 'integer', (c) => c.notNull())
    .$call((t) => (dialect === 'sqlite' ? t.modifyEnd(sql`without rowid`) : t))
    .execute();
  await sql`insert into credit_charges (message_id, amount)
    select l.message_id, l.amount from credit_ledger l
    where l.kind = 'charge' and l.message_id is not null
      and exists (select 1 from messages m where m.id = l.message_id)`.execute(db);
  await sql`create index prices_prefix_length on prices (length(prefix))`.execute(db);
}
