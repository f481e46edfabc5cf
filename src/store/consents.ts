/**
 * Consent records per owner and number (opt-ins with their proof, revocations), the policy
 * settings per user, and the erasure of a number's personal data.
 */
import type { Kysely } from 'kysely';
import { fromStatuses } from '../core/message.js';
import type { QuietWindow } from '../core/quiet-hours.js';
import { audit } from './templates.js';
import type { ConsentRow, Database, PolicySettingsRow } from './schema.js';

export const DEFAULTS_ROW = '*';

/** What stands in for an erased number and text: the row stays (counts), the person goes. */
export const ERASED = '[erased]';

export interface PolicySettings {
  templatesOnly: boolean;
  consentRequired: boolean;
  quietHours: QuietWindow[];
}

const NONE: PolicySettings = { templatesOnly: false, consentRequired: false, quietHours: [] };

export function settingsOf(row: PolicySettingsRow | undefined): PolicySettings {
  if (!row) return NONE;
  return {
    templatesOnly: row.templates_only === 1,
    consentRequired: row.consent_required === 1,
    quietHours: row.quiet_hours ? (JSON.parse(row.quiet_hours) as QuietWindow[]) : [],
  };
}

function rowOf(userId: string, s: PolicySettings, now: number): PolicySettingsRow {
  return {
    user_id: userId,
    templates_only: s.templatesOnly ? 1 : 0,
    consent_required: s.consentRequired ? 1 : 0,
    quiet_hours: s.quietHours.length ? JSON.stringify(s.quietHours) : null,
    updated_at: now,
  };
}

export class PolicySettingsRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** A user's settings; a user without a row has the defaults in force when it was created... */
  async get(userId: string): Promise<PolicySettings> {
    const rows = await this.db
      .selectFrom('policy_settings')
      .selectAll()
      .where('user_id', 'in', [userId, DEFAULTS_ROW])
      .execute();
    // ...which is the defaults row: changing the defaults first gives every existing user its own row.
    return settingsOf(rows.find((r) => r.user_id === userId) ?? rows.find((r) => r.user_id === DEFAULTS_ROW));
  }

  async put(userId: string, s: PolicySettings): Promise<void> {
    const row = rowOf(userId, s, Date.now());
    await this.db
      .insertInto('policy_settings')
      .values(row)
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ ...row, user_id: undefined }))
      .execute();
  }

  /** A contact's zone for quiet hours; the contact is created when it does not exist yet. */
  async setContactZone(ownerId: string, number: string, zone: string | null): Promise<void> {
    const now = Date.now();
    await this.db
      .insertInto('contacts')
      .values({ owner_id: ownerId, number, tags: '[]', updated_at: now, time_zone: zone })
      .onConflict((oc) =>
        oc.columns(['owner_id', 'number']).doUpdateSet({ time_zone: zone, updated_at: now }),
      )
      .execute();
  }

  /**
   * New defaults apply to users created from now on: every existing user without a row of its
   * own first gets one with the defaults it had, in the same transaction.
   */
  async putDefaults(s: PolicySettings): Promise<void> {
    const now = Date.now();
    await this.db.transaction().execute(async (trx) => {
      const old = settingsOf(
        await trx
          .selectFrom('policy_settings')
          .selectAll()
          .where('user_id', '=', DEFAULTS_ROW)
          .executeTakeFirst(),
      );
      const bare = await trx
        .selectFrom('users')
        .select('id')
        .where('id', 'not in', (eb) => eb.selectFrom('policy_settings').select('user_id'))
        .execute();
      for (let i = 0; i < bare.length; i += 500) {
        await trx
          .insertInto('policy_settings')
          .values(bare.slice(i, i + 500).map((u) => rowOf(u.id, old, now)))
          .execute();
      }
      const row = rowOf(DEFAULTS_ROW, s, now);
      await trx
        .insertInto('policy_settings')
        .values(row)
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ ...row, user_id: undefined }))
        .execute();
    });
  }
}

export interface ConsentInput {
  ownerId: string;
  number: string;
  source: string;
  textShown?: string | null | undefined;
  proofIp?: string | null | undefined;
  proofFormId?: string | null | undefined;
  grantedAt: number;
}

export class ConsentRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async grant(c: ConsentInput): Promise<ConsentRow> {
    const row = await this.db
      .insertInto('consents')
      .values({
        owner_id: c.ownerId,
        number: c.number,
        source: c.source,
        text_shown: c.textShown ?? null,
        proof_ip: c.proofIp ?? null,
        proof_form_id: c.proofFormId ?? null,
        granted_at: c.grantedAt,
        revoked_at: null,
        revoked_by: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return row;
  }

  /**
   * Consent records an owner holds, history included (the limit counts them all). Counted on the
   * (owner_id, number) index alone, without reading rows.
   */
  count(ownerId: string): Promise<number> {
    return this.db
      .selectFrom('consents')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('owner_id', '=', ownerId)
      .executeTakeFirstOrThrow()
      .then((r) => Number(r.n));
  }

  /** Every record of a number, oldest first (the data-subject export); all owners for an admin. */
  history(ownerId: string | undefined, number: string): Promise<ConsentRow[]> {
    let q = this.db.selectFrom('consents').selectAll().where('number', '=', number);
    if (ownerId) q = q.where('owner_id', '=', ownerId);
    return q.orderBy('id').limit(10_000).execute();
  }

  /** Revokes the owner's standing consents of the number; returns how many. */
  async revoke(ownerId: string, number: string, by: string, at = Date.now()): Promise<number> {
    const res = await this.db
      .updateTable('consents')
      .set({ revoked_at: at, revoked_by: by })
      .where('owner_id', '=', ownerId)
      .where('number', '=', number)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  /**
   * Erases a number's personal data for one owner (or every owner: `ownerId` undefined, an
   * admin): messages not yet sent are canceled, then every message keeps its row (so counts
   * and bills stay right) with number and text replaced by ERASED; inbound messages from the
   * number likewise; its contact entry and consent records go. The opt-out stays: it is what
   * keeps the number from being messaged again. One audit row per owner, without the number.
   */
  async erase(
    ownerId: string | undefined,
    number: string,
    actorId: string,
  ): Promise<{ messages: number; canceled: number; inbound: number; consents: number }> {
    const now = Date.now();
    return this.db.transaction().execute(async (trx) => {
      let cancel = trx
        .updateTable('messages')
        .set({
          status: 'canceled',
          final_at: now,
          updated_at: now,
          error_code: null,
          error_message: 'erased on request',
        })
        .where('to', '=', number)
        .where('status', 'in', fromStatuses('canceled'));
      if (ownerId) cancel = cancel.where('owner_id', '=', ownerId);
      const canceled = Number((await cancel.executeTakeFirst()).numUpdatedRows);
      // A message being submitted right now keeps its number until its outcome is in.
      let msgs = trx
        .updateTable('messages')
        .set({ to: ERASED, text: ERASED, client_ref: null, updated_at: now })
        .where('to', '=', number)
        .where('status', '!=', 'sending');
      if (ownerId) msgs = msgs.where('owner_id', '=', ownerId);
      const messages = Number((await msgs.executeTakeFirst()).numUpdatedRows);
      let inbound = trx
        .updateTable('inbound_messages')
        .set({ from: ERASED, text: ERASED })
        .where('from', '=', number);
      if (ownerId) inbound = inbound.where('owner_id', '=', ownerId);
      const inboundN = Number((await inbound.executeTakeFirst()).numUpdatedRows);
      let consents = trx.deleteFrom('consents').where('number', '=', number);
      if (ownerId) consents = consents.where('owner_id', '=', ownerId);
      const consentsN = Number((await consents.executeTakeFirst()).numDeletedRows);
      let contacts = trx.deleteFrom('contacts').where('number', '=', number);
      if (ownerId) contacts = contacts.where('owner_id', '=', ownerId);
      await contacts.execute();
      await audit(trx, {
        ownerId: ownerId ?? DEFAULTS_ROW,
        kind: 'erasure',
        subjectId: `erasure:${now}`,
        actorId,
        action: 'erased',
        before: null,
        after: null,
        reason: `${messages} messages, ${inboundN} inbound, ${consentsN} consent records`,
        at: now,
      });
      return { messages, canceled, inbound: inboundN, consents: consentsN };
    });
  }
}
