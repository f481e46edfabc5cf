/**
 * 013: nodes and channel leases (issue 17). `nodes`: one row per running gateway process, with
 * its heartbeat; `channel_leases`: which node runs each channel now, until when, under which
 * epoch (bumped on every change of holder, so a node that lost a channel can tell).
 */
import type { Kysely } from 'kysely';
import type { Dialect } from '../db.js';

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable('nodes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('http_url', 'text')
    .addColumn('started_at', time, (c) => c.notNull())
    .addColumn('heartbeat_at', time, (c) => c.notNull())
    .addColumn('stopped_at', time)
    .execute();
  await db.schema.createIndex('nodes_heartbeat').on('nodes').column('heartbeat_at').execute();
  await db.schema
    .createTable('channel_leases')
    .addColumn('channel_id', 'text', (c) => c.primaryKey())
    .addColumn('node_id', 'text', (c) => c.notNull())
    .addColumn('epoch', time, (c) => c.notNull())
    .addColumn('acquired_at', time, (c) => c.notNull())
    .addColumn('until', time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('channel_leases_node').on('channel_leases').column('node_id').execute();
}
