/**
 * Concatenated SMPP submits: each part is acknowledged as soon as it is stored (a client with
 * window 1 sends part 2 only after part 1's submit_sm_resp), and the message is built from the
 * stored parts when the last one is in. Each part answers with its own id; the message, once
 * built, is found by any of them (store/smpp-parts.ts).
 *
 * Nothing is left hanging: a message whose parts do not all arrive within `timeoutMs` becomes a
 * `rejected` message with `parts_missing` (its receipt, if asked for, says REJECTD); a build
 * that a crash interrupted is finished by the sweep of any node, and `MessageService.send` with
 * an idempotency key of the group's first part makes a second build answer with the first
 * message instead of sending twice.
 *
 * One outcome per group, across nodes: the build closes the parts in the transaction that
 * accepts the message, the refusal in the one that stores the rejected message, each only
 * where the parts are still open and under the group's lock (store/smpp-parts.ts). The loser's
 * transaction commits nothing; a refusal decides on the parts it sees under that lock.
 */
import type { CountryCode } from 'libphonenumber-js';
import type { Logger } from 'pino';
import { preview } from '../../codec/index.js';
import { decodeText } from '../../codec/smpp-text.js';
import { ApiError } from '../../core/errors.js';
import type { ErrorCode } from '../../core/errors.js';
import { normalizeNumber } from '../../core/phone.js';
import type { Principal } from '../../services/auth.js';
import type { MessageService } from '../../services/messages.js';
import { newId } from '../../store/ids.js';
import type { Store } from '../../store/index.js';
import type { Database, NewMessage } from '../../store/schema.js';
import type { Transaction } from 'kysely';
import type { SmppPartRow } from '../../store/smpp-parts.js';
import { PartsTaken } from '../../store/smpp-parts.js';
import { receiptRequest } from './parts.js';

/** What a part's submit said beside its text; the first part's apply to the message. */
export interface PartParams {
  to: string;
  from: string;
  serviceType: string;
  flash: boolean;
  sendAt?: number | undefined;
  validityMinutes?: number | undefined;
  replaceId?: number | undefined;
  replaceIfPresent: boolean;
}

export interface NewPart {
  groupKey: string;
  seq: number;
  total: number;
  dataCoding: number;
  payload: Buffer;
  registered: number;
  params: PartParams;
}

export interface AssemblyOptions {
  /** A message whose parts are not all in after this is refused (`parts_missing`). */
  timeoutMs: number;
  /** Parts one user may have waiting for the rest of their message. */
  maxOpenPerUser: number;
  /** Closed parts (their ids lead to their message) are kept this long. */
  keepMs: number;
  region?: CountryCode | undefined;
}

/** Closed parts are kept 30 days: validity is at most 28 days, and receipts come after it. */
export const KEEP_PARTS_MS = 30 * 86_400_000;

export class PartsAssembler {
  private readonly busy = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private lastPurge = 0;
  private sweeping: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly messages: MessageService,
    private readonly log: Logger,
    private readonly opts: AssemblyOptions,
    /** replace_if_present, in the transaction that accepts the built message. */
    private readonly replacePresent: (
      trx: Transaction<Database>,
      rows: readonly NewMessage[],
    ) => Promise<void>,
  ) {}

  /** Groups being built now (in memory only while a build runs). */
  get building(): number {
    return this.busy.size;
  }

  start(): void {
    if (this.timer) return;
    // Often enough that a timed-out message is refused within a quarter of the timeout.
    const every = Math.min(5_000, Math.max(100, Math.floor(this.opts.timeoutMs / 4)));
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((err: unknown) => this.log.error({ err }, 'SMPP parts sweep failed'))
        .finally(() => (this.sweeping = undefined));
    }, every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
    await Promise.allSettled([...this.busy.values()]);
  }

  /**
   * Stores a part; resolves with its id once it is committed, or undefined when the user has
   * `maxOpenPerUser` parts waiting already. The message is built afterwards, when complete.
   * A part sent again after its message was built (the client lost our answer) is answered
   * with a new id that leads to the same message, and starts nothing new.
   */
  async add(principal: Principal, part: NewPart): Promise<string | undefined> {
    const row: SmppPartRow = {
      id: newId(),
      owner_id: principal.user.id,
      group_key: part.groupKey,
      part_seq: part.seq,
      total: part.total,
      data_coding: part.dataCoding,
      payload: part.payload.toString('hex'),
      registered: part.registered,
      params: JSON.stringify(part.params),
      created_at: Date.now(),
      message_id: null,
    };
    const stored = await this.store.smppParts.add(row, this.opts.maxOpenPerUser, this.opts.timeoutMs);
    if (!stored) return undefined;
    if (!row.message_id) void this.build(part.groupKey, principal.user.id, principal);
    return row.id;
  }

  /** Builds (or refuses) the group's message if it is complete (or timed out); one build per group at a time. */
  build(groupKey: string, ownerId: string, principal?: Principal): Promise<void> {
    const prev = this.busy.get(groupKey) ?? Promise.resolve();
    const next: Promise<void> = prev
      .then(() => this.buildNow(groupKey, ownerId, principal))
      .catch((err: unknown) => this.log.error({ err, groupKey }, 'SMPP concatenated message not built'))
      .finally(() => {
        if (this.busy.get(groupKey) === next) this.busy.delete(groupKey);
      });
    this.busy.set(groupKey, next);
    return next;
  }

  /** Open groups whose first part is older than a few seconds: finished or refused. */
  async sweep(now = Date.now()): Promise<void> {
    const settle = Math.min(this.opts.timeoutMs, 5_000);
    for (const g of await this.store.smppParts.openGroups(200)) {
      if (now - g.first_at < settle) break;
      await this.build(g.group_key, g.owner_id);
    }
    if (now - this.lastPurge > 3_600_000) {
      this.lastPurge = now;
      await this.store.smppParts.purge(now - this.opts.keepMs);
    }
  }

  private async buildNow(groupKey: string, ownerId: string, given?: Principal): Promise<void> {
    let g = readGroup(await this.store.smppParts.open(groupKey));
    if (!g) return;
    if (!g.complete) {
      if (Date.now() - g.first.created_at < this.opts.timeoutMs) return;
      // Decided again on the parts open under the group's lock: a last part stored since the
      // read makes the group complete (built below), one stored after joins the refusal.
      const refused = await this.store.smppParts.refuse(groupKey, (open) => {
        const seen = readGroup(open);
        if (!seen || seen.complete || Date.now() - seen.first.created_at < this.opts.timeoutMs)
          return undefined;
        return { ids: open.map((r) => r.id), message: this.rejected(ownerId, seen, 'parts_missing') };
      });
      if (refused) {
        this.log.info(
          { groupKey, arrived: g.bySeq.size, total: g.first.total },
          'SMPP message incomplete: refused',
        );
        return;
      }
      g = readGroup(await this.store.smppParts.open(groupKey));
      if (!g?.complete) return;
    }
    const { rows, params } = g;
    const ids = rows.map((r) => r.id);
    const principal = given ?? (await this.principalOf(ownerId));
    if (!principal) return this.refuseComplete(groupKey, ownerId, g, 'account_blocked');
    let claimed = false;
    try {
      const result = await this.messages.send(
        principal,
        {
          to: [params.to],
          text: g.text,
          from: params.from || undefined,
          flash: params.flash,
          sendAt: params.sendAt !== undefined ? new Date(params.sendAt) : undefined,
          validityMinutes: params.validityMinutes,
          replaceId: params.replaceId,
          smppReceiptMask: g.mask,
          smppServiceType: params.serviceType,
        },
        // A second build of the same group (another node's at the same moment, or one whose
        // message an older version committed without closing its parts) answers with the first.
        `smpp-parts:${g.first.id}`,
        {
          // The parts are closed in the transaction that accepts the message: one winner
          // against a refusal or another node's build (PartsTaken rolls this message back).
          within: async (trx, stored) => {
            const m = stored[0];
            if (!m) return;
            await this.store.smppParts.claim(trx, groupKey, ids, m.id);
            if (params.replaceIfPresent) await this.replacePresent(trx, stored);
            claimed = true;
          },
        },
      );
      const m = result.messages[0];
      if (!m || !('id' in m)) return this.refuseComplete(groupKey, ownerId, g, 'invalid_number');
      // A replay: the message was committed earlier and its parts left open; they join it now
      // (and it replaces what it should, if that build stopped before doing so).
      if (claimed || (await this.store.smppParts.link(groupKey, ids, m.id)) !== ids.length) return;
      if (params.replaceIfPresent && m.status !== 'rejected') {
        const match = { ownerId, to: m.to, from: params.from || null, serviceType: params.serviceType };
        await this.store.messages.cancelReplaced(m.id, match);
      }
    } catch (err) {
      // Another node built or refused it first: nothing of this build was committed.
      if (err instanceof PartsTaken) return;
      // A refusal (bad number, too long) is final: the parts were acknowledged, so the
      // message is stored as rejected with the reason. Anything else is retried by the sweep.
      // (A refusal after the accept committed, a 402 for credit, finds the parts closed.)
      if (!(err instanceof ApiError)) throw err;
      await this.refuseComplete(groupKey, ownerId, g, err.code, err.message);
    }
  }

  private async principalOf(ownerId: string): Promise<Principal | undefined> {
    const user = await this.store.users.byId(ownerId);
    return user && user.status === 'active' ? { user, apiKeyId: null } : undefined;
  }

  /** A complete group refused for `code`: only if every part read is still open (nobody closed it since). */
  private async refuseComplete(
    groupKey: string,
    ownerId: string,
    g: Group,
    code: ErrorCode,
    message?: string,
  ): Promise<void> {
    await this.store.smppParts.refuse(groupKey, (open) => {
      const ids = g.rows.map((r) => r.id);
      const still = new Set(open.map((r) => r.id));
      if (!ids.every((id) => still.has(id))) return undefined;
      return { ids, message: this.rejected(ownerId, g, code, message) };
    });
  }

  /** The message as stored rejected with `code`; its receipt (if asked for) says REJECTD. */
  private rejected(ownerId: string, g: Group, code: ErrorCode, message?: string): NewMessage {
    const { text, mask, params } = g;
    const now = Date.now();
    const p = preview(text === '' ? ' ' : text);
    const n = normalizeNumber(params.to, this.opts.region);
    return {
      id: newId(),
      owner_id: ownerId,
      api_key_id: null,
      batch_id: newId(),
      to: n.ok ? n.e164 : params.to,
      from: params.from || null,
      text,
      encoding: p.encoding,
      segments: p.segments,
      flash: params.flash ? 1 : 0,
      replace_id: params.replaceId ?? null,
      validity_minutes: null,
      send_at: null,
      expires_at: now,
      status: 'rejected',
      attempts: 0,
      max_attempts: 1,
      tries_per_attempt: 1,
      next_attempt_at: now,
      lease_owner: null,
      lease_until: null,
      channel_id: null,
      avoid_channel_id: null,
      pinned_channel_id: null,
      smpp_receipt_mask: mask || null,
      report_requested: 0,
      error_code: code,
      error_message: message ?? null,
      client_ref: null,
      callback_url: null,
      dlr_url: null,
      dlr_mask: null,
      smpp_service_type: params.serviceType,
      created_at: now,
      updated_at: now,
      sent_at: null,
      final_at: now,
    };
  }
}

/** An open group as read: its parts by position, the text so far, the receipt it asks for. */
interface Group {
  rows: SmppPartRow[];
  first: SmppPartRow;
  bySeq: Map<number, SmppPartRow>;
  params: PartParams;
  text: string;
  mask: number;
  complete: boolean;
}

function readGroup(rows: SmppPartRow[]): Group | undefined {
  const first = rows[0];
  if (!first) return undefined;
  const bySeq = new Map<number, SmppPartRow>();
  for (const r of rows) if (!bySeq.has(r.part_seq)) bySeq.set(r.part_seq, r);
  const ordered = [...bySeq.values()].sort((a, b) => a.part_seq - b.part_seq);
  const head = ordered[0] as SmppPartRow;
  return {
    rows,
    first,
    bySeq,
    params: JSON.parse(head.params) as PartParams,
    text: decodeText(head.data_coding, Buffer.concat(ordered.map((r) => Buffer.from(r.payload, 'hex')))),
    mask: receiptRequest(rows.map((r) => r.registered)),
    complete: bySeq.size >= first.total,
  };
}
