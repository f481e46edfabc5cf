/**
 * 014: sending-policy lists, caps and credits (issue 14, items 2, 3 and 6).
 *
 * - `number_lists`: blacklist and whitelist entries, per user or global (`owner_id` = '').
 * - `account_policy`: per-user switches (test mode, auto-blacklist) and the prepaid balance; no
 *   row means the defaults (no test mode, no auto-blacklist, unlimited credit).
 * - `unknown_subscriber_counts`: failures as `unknown_subscriber` per (owner, number), for the
 *   automatic blacklist.
 * - `frequency_caps` and `frequency_counters`: caps per (owner or global, category, period) and
 *   one counter row per (owner, number, category, period, bucket), incremented in the accepting
 *   transaction with a conditional upsert (row-locked on PostgreSQL, so two nodes cannot both
 *   take the last place).
 * - `prices` and `credit_ledger`: the price list by prefix and encoding, and every charge,
 *   refund and top-up. A message is charged and refunded at most once (unique kind + message).
 */
import type { Kysely } from 'kysely';
import type { Dialect } from '../db.js';

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable('number_lists')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('number', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('number_lists_pk', ['kind', 'owner_id', 'number'])
    .execute();
  await db.schema.createIndex('number_lists_number').on('number_lists').columns(['number']).execute();
  await db.schema
    .createTable('account_policy')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('test_mode', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('auto_blacklist_after', 'integer')
    .addColumn('prepaid', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('balance', big, (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('unknown_subscriber_counts')
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('number', 'text', (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('unknown_subscriber_counts_pk', ['owner_id', 'number'])
    .execute();

  await db.schema
    .createTable('frequency_caps')
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('period', 'text', (c) => c.notNull())
    .addColumn('max_count', 'integer', (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('frequency_caps_pk', ['owner_id', 'category', 'period'])
    .execute();
  await db.schema
    .createTable('frequency_counters')
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('number', 'text', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('period', 'text', (c) => c.notNull())
    .addColumn('bucket', big, (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('frequency_counters_pk', ['owner_id', 'number', 'category', 'period', 'bucket'])
    .execute();
  await db.schema
    .createIndex('frequency_counters_bucket')
    .on('frequency_counters')
    .column('bucket')
    .execute();

  await db.schema
    .createTable('prices')
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('encoding', 'text', (c) => c.notNull())
    .addColumn('per_segment', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('prices_pk', ['prefix', 'encoding'])
    .execute();

  const ledger = db.schema.createTable('credit_ledger');
  await (
    dialect === 'postgres'
      ? ledger.addColumn('id', 'bigserial', (c) => c.primaryKey())
      : ledger.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
  )
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('amount', big, (c) => c.notNull())
    .addColumn('balance_after', big, (c) => c.notNull())
    .addColumn('message_id', 'text')
    .addColumn('note', 'text')
    .addColumn('created_at', big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('credit_ledger_user').on('credit_ledger').columns(['user_id', 'id']).execute();
  // NULLs are distinct on both databases: top-ups (no message) are not constrained.
  await db.schema
    .createIndex('credit_ledger_message')
    .on('credit_ledger')
    .columns(['message_id', 'kind'])
    .unique()
    .execute();
}
