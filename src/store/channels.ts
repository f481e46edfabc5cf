/** Channels (the seed's smsc_gateway) and their monthly counters (the seed's gateway_smscount). */
import type { Kysely } from 'kysely';
import type { ChannelRow, Database } from './schema.js';
import { newId } from './ids.js';

export type NewChannel = Omit<ChannelRow, 'id' | 'created_at' | 'updated_at' | 'state'> & { state?: string };
export type ChannelPatch = Partial<
  Pick<
    ChannelRow,
    | 'name'
    | 'config'
    | 'monthly_limit'
    | 'count_mode'
    | 'min_interval_ms'
    | 'max_in_flight'
    | 'priority'
    | 'enabled'
    | 'state'
    | 'owner_id'
  >
>;

export class ChannelRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async create(c: NewChannel): Promise<ChannelRow> {
    const now = Date.now();
    const row: ChannelRow = {
      ...c,
      state: c.state ?? 'stopped',
      id: newId(),
      created_at: now,
      updated_at: now,
    };
    await this.db.insertInto('channels').values(row).execute();
    return row;
  }

  byId(id: string): Promise<ChannelRow | undefined> {
    return this.db.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirst();
  }

  byName(name: string): Promise<ChannelRow | undefined> {
    return this.db.selectFrom('channels').selectAll().where('name', '=', name).executeTakeFirst();
  }

  list(): Promise<ChannelRow[]> {
    return this.db.selectFrom('channels').selectAll().orderBy('created_at').execute();
  }

  async update(id: string, patch: ChannelPatch): Promise<ChannelRow | undefined> {
    await this.db
      .updateTable('channels')
      .set({ ...patch, updated_at: Date.now() })
      .where('id', '=', id)
      .execute();
    return this.byId(id);
  }

  /**
   * Deletes a channel and its counters; refused (returns the count) while messages still wait
   * for it — pinned to it, or being sent through it — since they could then never leave. The
   * history keeps the channel's id on the messages it sent.
   */
  async remove(id: string): Promise<{ removed: true } | { removed: false; waiting: number }> {
    return this.db.transaction().execute(async (trx) => {
      const waiting = await trx
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where((eb) =>
          eb.or([
            eb.and([
              eb('pinned_channel_id', '=', id),
              eb('status', 'in', ['queued', 'scheduled', 'sending']),
            ]),
            eb.and([eb('channel_id', '=', id), eb('status', '=', 'sending')]),
          ]),
        )
        .executeTakeFirstOrThrow();
      if (Number(waiting.n) > 0) return { removed: false as const, waiting: Number(waiting.n) };
      await trx.deleteFrom('channel_counters').where('channel_id', '=', id).execute();
      await trx.deleteFrom('channels').where('id', '=', id).execute();
      return { removed: true as const };
    });
  }

  async counter(channelId: string, month: string): Promise<number> {
    const row = await this.db
      .selectFrom('channel_counters')
      .select('count')
      .where('channel_id', '=', channelId)
      .where('month', '=', month)
      .executeTakeFirst();
    return row?.count ?? 0;
  }

  /** Every channel's count for a month. */
  async counters(month: string): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('channel_counters')
      .select(['channel_id', 'count'])
      .where('month', '=', month)
      .execute();
    return new Map(rows.map((r) => [r.channel_id, r.count]));
  }

  history(channelId: string): Promise<{ month: string; count: number }[]> {
    return this.db
      .selectFrom('channel_counters')
      .select(['month', 'count'])
      .where('channel_id', '=', channelId)
      .orderBy('month', 'desc')
      .execute();
  }

  /**
   * Atomically takes `units` from the channel's monthly allowance. Returns false (and takes
   * nothing) when that would pass `limit`. Being one conditional statement, it stays correct
   * when several nodes share the channel.
   */
  async reserve(channelId: string, month: string, units: number, limit: number | null): Promise<boolean> {
    if (limit !== null && units > limit) return false;
    await this.db
      .insertInto('channel_counters')
      .values({ channel_id: channelId, month, count: 0 })
      .onConflict((oc) => oc.columns(['channel_id', 'month']).doNothing())
      .execute();
    let q = this.db
      .updateTable('channel_counters')
      .set((eb) => ({ count: eb('count', '+', units) }))
      .where('channel_id', '=', channelId)
      .where('month', '=', month);
    if (limit !== null) q = q.where('count', '<=', limit - units);
    const res = await q.executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Gives back units reserved for a send that did not happen. */
  async release(channelId: string, month: string, units: number): Promise<void> {
    await this.db
      .updateTable('channel_counters')
      .set((eb) => ({ count: eb('count', '-', units) }))
      .where('channel_id', '=', channelId)
      .where('month', '=', month)
      .where('count', '>=', units)
      .execute();
  }

  async resetCounter(channelId: string, month: string): Promise<void> {
    await this.db
      .updateTable('channel_counters')
      .set({ count: 0 })
      .where('channel_id', '=', channelId)
      .where('month', '=', month)
      .execute();
  }
}
