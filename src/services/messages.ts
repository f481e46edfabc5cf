/**
 * Accepting messages from any face (REST, seed API, SMPP, CLI): validate, normalize the
 * numbers, count segments, and commit them to the queue. Accepted means committed: the promise
 * resolves only after the rows are durable (group-committed with other requests).
 */
import type { CountryCode } from 'libphonenumber-js';
import { preview } from '../codec/index.js';
import { ApiError, say } from '../core/errors.js';
import { validateSender } from '../core/phone.js';
import { NumberNormalizer } from '../core/phone-cache.js';
import { WriteBatcher } from '../store/batcher.js';
import type { Refusal } from '../policy/index.js';
import type { Store } from '../store/index.js';
import type { AcceptClaimer, AcceptItem, AcceptResult } from '../store/messages.js';
import { newId } from '../store/ids.js';
import type { Database, NewMessage } from '../store/schema.js';
import type { Transaction } from 'kysely';
import type { Principal } from './auth.js';
import { sha256 } from './secrets.js';
import { applyTemplate } from './template-send.js';

export interface SendInput {
  /** Raw recipients as the client wrote them. */
  to: string[];
  /** The text; or none, with templateId and params (the rendered approved template). */
  text?: string | undefined;
  templateId?: string | undefined;
  params?: Record<string, unknown> | undefined;
  /** IANA zone of the recipients, for quiet hours (else the contact's or the number's). */
  timeZone?: string | undefined;
  from?: string | undefined;
  flash?: boolean | undefined;
  replaceId?: number | undefined;
  validityMinutes?: number | undefined;
  sendAt?: Date | undefined;
  maxAttempts?: number | undefined;
  /** Immediate tries on the same channel per attempt (the seed's `attempts`). */
  triesPerAttempt?: number | undefined;
  callbackUrl?: string | undefined;
  clientRef?: string | undefined;
  allOrNothing?: boolean | undefined;
  /** Send through this channel only (it must be the sender's own or shared). */
  channelId?: string | undefined;
  /** SMPP submits: the client's registered_delivery, kept so its receipt survives restarts. */
  smppReceiptMask?: number | undefined;
  /** Ask the network for a delivery report (default yes); without one, `sent` is final. */
  deliveryReport?: boolean | undefined;
  /**
   * Kannel `dlr-url`: a URL pattern with `%`-placeholders, called with GET when the message
   * reaches a status whose Kannel DLR type is in `dlrMask` (1, 2, 4, 8, 16; see core/kannel-dlr).
   */
  dlrUrl?: string | undefined;
  dlrMask?: number | undefined;
  /** SMPP submits: the service_type, which replace_if_present matches on. */
  smppServiceType?: string | undefined;
  /** How dlrUrl is called: Kannel's pattern (default) or Jasmin's parameters (`jasmin-get`/`jasmin-post`). */
  dlrFormat?: 'jasmin-get' | 'jasmin-post' | undefined;
}

export type RecipientResult =
  | {
      id: string;
      to: string;
      status: 'queued' | 'scheduled' | 'rejected';
      encoding: string;
      segments: number;
      input: string;
      /** Set when the message was stored as rejected (e.g. opted_out). */
      error?: { code: string; message: string };
    }
  | { to: string; input: string; error: { code: string; message: string } };

export interface SendResult {
  batch_id: string;
  accepted: number;
  rejected: number;
  messages: RecipientResult[];
}

export interface SendLimits {
  maxRecipients: number;
  maxSegments: number;
  defaultValidityMinutes: number;
  maxAttempts: number;
  defaultRegion?: CountryCode | undefined;
  /** Refuses callback URLs that point inside the operator's network (delivery/url-guard.ts). */
  urlGuard?: { check(url: string, field: string): Promise<void> } | undefined;
}

/** Integer fields of SendInput and their ranges: any face may call send, so they are checked here too. */
const INTEGER_FIELDS = [
  ['validityMinutes', 'validity', 1, 40_320],
  ['maxAttempts', 'max_attempts', 1, 20],
  ['triesPerAttempt', 'attempts', 1, 10],
  ['replaceId', 'replace_id', 1, 7],
  ['dlrMask', 'dlr-mask', 0, 63],
] as const;
/** Longest Kannel dlr-url pattern: 2 KiB, the common limit of URLs that pass through proxies. */
const MAX_DLR_URL = 2048;
/** How far in the past a send_at may be (clock skew between client and server) before it is refused. */
const SEND_AT_TOLERANCE_MS = 5 * 60_000;
/** JavaScript dates end at ±8.64e15 ms; a stored time beyond that cannot be shown again. */
const LATEST_SEND_AT = Date.UTC(9999, 11, 31);

/** When the messages of one input start and expire. */
interface SendTimes {
  now: number;
  sendAt: number | undefined;
  scheduled: boolean;
  startAt: number;
  validity: number;
}

export class MessageService {
  private readonly batcher: WriteBatcher<AcceptItem, AcceptResult>;
  private readonly listeners: ((claimedAll: boolean) => void)[] = [];
  /** The dispatcher's claim in the accepting transaction (claimOnAccept). */
  private claimer: AcceptClaimer | undefined;
  /**
   * Recipients' numbers, with libphonenumber's verdict kept per (leading digits, length) for
   * international ones (core/phone-cache.ts). Parsing was the largest item of the accept path of
   * its own: 2.2 of 31 busy seconds in a `--cpu-prof` of 4,000 single-recipient POSTs at c=64
   * (`ACCEPT_PROF=dir ACCEPT_N=4000 ACCEPT_C=64 ACCEPT_ROUNDS=1 npm run bench:accept`).
   */
  private readonly numbers: NumberNormalizer;

  constructor(
    private readonly store: Store,
    private readonly limits: SendLimits,
  ) {
    this.batcher = new WriteBatcher((items) => store.messages.acceptBatch(items, this.claimer));
    this.numbers = new NumberNormalizer(limits.defaultRegion);
  }

  /** Region for numbers written without a country code (filters normalise numbers like sending). */
  get region(): CountryCode | undefined {
    return this.limits.defaultRegion;
  }

  /**
   * Called after new work is committed (the dispatcher wakes up instead of polling), with
   * whether the accepting commits also claimed all this node could send of it (claimOnAccept):
   * then this node has nothing to look for, though other nodes may.
   */
  onAccepted(listener: (claimedAll: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** Every accepting transaction runs `claimer` after storing its messages (store acceptBatch). */
  claimOnAccept(claimer: AcceptClaimer): void {
    this.claimer = claimer;
  }

  /**
   * Validates and queues. With an idempotency key, the same key and body within 24 h answers
   * with the first result and creates nothing; the same key with another body is a conflict.
   */
  async send(
    principal: Principal,
    input: SendInput,
    idempotencyKey?: string,
    opts: {
      bypassOptOut?: boolean;
      category?: string;
      /**
       * The caller's own writes in the transaction that accepts the messages (after they are
       * inserted, with the rows as stored): throwing rolls the accept back, so the caller's
       * record and the messages are committed together or not at all. Not run on a replay.
       */
      within?: ((trx: Transaction<Database>, rows: readonly NewMessage[]) => Promise<void>) | undefined;
    } = {},
  ): Promise<SendResult> {
    if (input.callbackUrl !== undefined && this.limits.urlGuard) {
      await this.limits.urlGuard.check(input.callbackUrl, 'callback_url');
    }
    if (input.dlrUrl !== undefined && this.limits.urlGuard) {
      await this.limits.urlGuard.check(input.dlrUrl, 'dlr-url');
    }
    // Templates-only accounts, template rendering and its category (services/template-send.ts).
    const request = input;
    const templated = await applyTemplate(this.store, principal, input, opts);
    input = templated.input;
    const callbackUrl = input.callbackUrl ?? (await this.keyCallback(principal.apiKeyId));
    const transliterate = await this.transliterates(principal.user.id);
    if (input.channelId !== undefined) await this.checkChannel(principal, input.channelId);
    const { rows, result } = this.build(principal, { ...input, callbackUrl }, transliterate);
    const idem = idempotencyKey
      ? {
          userId: principal.user.id,
          key: idempotencyKey,
          requestHash: sha256(JSON.stringify(canonical(request))),
          statusCode: 202,
        }
      : undefined;
    const outcome = await this.batcher.submit({
      messages: rows,
      idempotency: idem,
      policy: { bypass: opts.bypassOptOut, category: templated.category, timeZone: input.timeZone },
      within: opts.within ? (trx) => (opts.within as NonNullable<typeof opts.within>)(trx, rows) : undefined,
      respond: (refused) => JSON.stringify(markRefused(structuredClone(result), rows, refused)),
    });
    if (outcome.kind === 'conflict')
      throw new ApiError('idempotency_key_reused', undefined, 'Idempotency-Key');
    if (outcome.kind === 'replay') return unpaid(JSON.parse(outcome.response) as SendResult);
    markRefused(result, rows, outcome.refused);
    if (rows.length > outcome.refused.size) this.announce(outcome.claimedAll && !held(rows));
    return unpaid(result);
  }

  /**
   * For server-side jobs (campaigns): one row per recipient, each with its own text, validated
   * as `send` validates a request per recipient, not stored yet. The checks of what the
   * recipients share (sender, channel, times) run once and throw the same ApiErrors as `send`;
   * a recipient's own problem is its `error` code (invalid_number, duplicate_recipient,
   * text_too_long, blank_text, missing_parameter). Segments are counted once per distinct text.
   * It was `send`'s builder once per personalised recipient, with a channel check and a
   * settings read each time: 15 µs of `build` a recipient in a `--cpu-prof` of
   * `BENCH_CAMPAIGN_N=50000 BENCH_CAMPAIGN_CHANNEL=off npm run bench:campaign`.
   */
  async prepareMany(
    principal: Principal,
    input: Omit<SendInput, 'to' | 'text'>,
    items: readonly { to: string; text: string }[],
    batchId: string,
  ): Promise<({ row: NewMessage } | { error: string })[]> {
    if (input.channelId !== undefined) await this.checkChannel(principal, input.channelId);
    const transliterate = await this.transliterates(principal.user.id);
    this.checkIntegers(input);
    this.checkUrlAndSender(input);
    const t = this.times(input);
    const previews = new Map<string, ReturnType<typeof preview> | ApiError>();
    const seen = new Set<string>();
    return items.map((item) => {
      let p = previews.get(item.text);
      if (p === undefined) {
        p = this.checkText(item.text, transliterate);
        previews.set(item.text, p);
      }
      if (p instanceof ApiError) return { error: p.code };
      const n = this.numbers.normalize(item.to);
      if (!n.ok) return { error: 'invalid_number' };
      if (seen.has(n.e164)) return { error: 'duplicate_recipient' };
      seen.add(n.e164);
      return { row: this.row(principal, input, n.e164, p, t, batchId) };
    });
  }

  /** A text's preview, or the error `send` answers for it (empty, blank, too many segments). */
  private checkText(text: unknown, transliterate: boolean): ReturnType<typeof preview> | ApiError {
    if (typeof text !== 'string' || text === '') {
      return new ApiError('missing_parameter', say('api.send.emptyText'), 'text');
    }
    if (text.trim() === '') return new ApiError('blank_text', say('api.send.blankText'), 'text');
    const p = preview(text, { transliterate });
    if (p.segments <= this.limits.maxSegments) return p;
    return new ApiError(
      'text_too_long',
      say('api.send.tooManySegments', {
        segments: p.segments,
        encoding: p.encoding,
        max: this.limits.maxSegments,
      }),
      'text',
    );
  }

  /**
   * Commits prepared rows in their own transaction (not group-committed: `item.within` may
   * throw to roll back just this item), under the sending policy; wakes the dispatcher.
   */
  async commitPrepared(item: AcceptItem): Promise<Map<string, Refusal>> {
    const [outcome] = await this.store.messages.acceptBatch([item], this.claimer);
    const accepted = outcome?.kind === 'accepted' ? outcome : undefined;
    const refused = accepted?.refused ?? new Map<string, Refusal>();
    if (item.messages.length > refused.size) this.announce(!!accepted?.claimedAll && !held(item.messages));
    return refused;
  }

  private announcing = false;
  private announceClaimedAll = true;

  /**
   * Tells the listeners (the dispatcher) about committed work on the next turn of the event loop:
   * once for all the requests of a group commit (it was once per request: 64 pokes per batch at
   * c=64), and only after their answers are written. Called inline, the dispatcher's claim ran in
   * the same chain of promises as the answers, and its COMMIT (an fsync that holds the event loop,
   * 2.6–7 ms on this disk) could come before them: node writes a response on the next tick, after
   * the microtasks.
   */
  private announce(claimedAll: boolean): void {
    this.announceClaimedAll &&= claimedAll;
    if (this.announcing) return;
    this.announcing = true;
    setImmediate(() => {
      const all = this.announceClaimedAll;
      this.announcing = false;
      this.announceClaimedAll = true;
      for (const l of this.listeners) l(all);
    });
  }

  /** A pinned channel must exist and be usable by the sender, or the message could never leave. */
  private async checkChannel(principal: Principal, channelId: string): Promise<void> {
    const ch = await this.store.channels.byId(channelId);
    if (!ch || (ch.owner_id !== null && ch.owner_id !== principal.user.id)) {
      throw new ApiError('validation_failed', say('api.send.noSuchChannel'), 'channel_id');
    }
  }

  private readonly transliteration = new Map<string, { on: boolean; at: number }>();

  /** The user's transliteration setting, cached for a few seconds (it is read on every send). */
  private async transliterates(userId: string): Promise<boolean> {
    const cached = this.transliteration.get(userId);
    if (cached && Date.now() - cached.at < 5_000) return cached.on;
    const on = await this.store.webhooks.transliterates(userId);
    if (this.transliteration.size > 10_000) this.transliteration.clear();
    this.transliteration.set(userId, { on, at: Date.now() });
    return on;
  }

  private readonly keyCallbacks = new Map<string, { url: string | null; at: number }>();

  /** The API key's default status webhook, cached for a minute (it is read on every send). */
  private async keyCallback(apiKeyId: string | null): Promise<string | undefined> {
    if (!apiKeyId) return undefined;
    const cached = this.keyCallbacks.get(apiKeyId);
    if (cached && Date.now() - cached.at < 60_000) return cached.url ?? undefined;
    const key = await this.store.keys.byId(apiKeyId);
    this.keyCallbacks.set(apiKeyId, { url: key?.callback_url ?? null, at: Date.now() });
    return key?.callback_url ?? undefined;
  }

  /** Config changed (on any node): per-user and per-key settings are read again. */
  forget(): void {
    this.transliteration.clear();
    this.keyCallbacks.clear();
  }

  /** Resolves once every accepted message is committed (graceful shutdown). */
  drain(): Promise<void> {
    return this.batcher.idle();
  }

  private checkIntegers(input: Omit<SendInput, 'to' | 'text'>): void {
    for (const [key, field, min, max] of INTEGER_FIELDS) {
      const v = input[key];
      if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) {
        throw new ApiError('validation_failed', say('api.send.wholeNumber', { field, min, max }), field);
      }
    }
  }

  private checkUrlAndSender(input: Omit<SendInput, 'to' | 'text'>): void {
    // Stored with every message and filled per callback: bounded like any URL a client leaves here.
    if (
      input.dlrUrl !== undefined &&
      (typeof input.dlrUrl !== 'string' || input.dlrUrl.length > MAX_DLR_URL)
    ) {
      throw new ApiError('validation_failed', say('api.send.dlrUrlLong', { max: MAX_DLR_URL }), 'dlr-url');
    }
    if (input.from !== undefined && input.from !== '') {
      const bad = validateSender(input.from);
      if (bad) throw new ApiError('validation_failed', bad, 'from');
    }
  }

  /** When the messages of one input start and expire (send_at checked). */
  private times(input: Omit<SendInput, 'to' | 'text'>): SendTimes {
    const now = Date.now();
    const sendAt = input.sendAt?.getTime();
    if (sendAt !== undefined && (!Number.isFinite(sendAt) || sendAt > LATEST_SEND_AT || sendAt < 0))
      throw new ApiError('validation_failed', say('api.send.badSendAt'), 'send_at');
    // A time in the past is most likely a typo (2025 for 2026): sending at once would surprise.
    if (sendAt !== undefined && sendAt < now - SEND_AT_TOLERANCE_MS) {
      throw new ApiError(
        'send_at_in_past',
        say('api.send.sendAtPast', {
          at: new Date(sendAt).toISOString(),
          minutes: SEND_AT_TOLERANCE_MS / 60_000,
        }),
        'send_at',
      );
    }
    const scheduled = sendAt !== undefined && sendAt > now + 1000;
    const startAt = scheduled ? sendAt : now;
    const validity = input.validityMinutes ?? this.limits.defaultValidityMinutes;
    return { now, sendAt, scheduled, startAt, validity };
  }

  /** One message row: the one shape every accepted message is stored in. */
  private row(
    principal: Principal,
    input: Omit<SendInput, 'to' | 'text'>,
    e164: string,
    p: ReturnType<typeof preview>,
    t: SendTimes,
    batchId: string,
  ): NewMessage {
    return {
      id: newId(),
      owner_id: principal.user.id,
      api_key_id: principal.apiKeyId,
      batch_id: batchId,
      to: e164,
      from: input.from || null,
      text: p.text,
      encoding: p.encoding,
      segments: p.segments,
      flash: input.flash ? 1 : 0,
      replace_id: input.replaceId ?? null,
      validity_minutes: input.validityMinutes ?? null,
      send_at: t.sendAt ?? null,
      expires_at: t.startAt + t.validity * 60_000,
      status: t.scheduled ? 'scheduled' : 'queued',
      attempts: 0,
      max_attempts: input.maxAttempts ?? this.limits.maxAttempts,
      tries_per_attempt: input.triesPerAttempt ?? 1,
      next_attempt_at: t.startAt,
      lease_owner: null,
      lease_until: null,
      channel_id: null,
      avoid_channel_id: null,
      pinned_channel_id: input.channelId ?? null,
      smpp_receipt_mask: (input.smppReceiptMask ?? 0) & 0x03 || null,
      report_requested: input.deliveryReport === false ? 0 : 1,
      error_code: null,
      error_message: null,
      client_ref: input.clientRef ?? null,
      callback_url: input.callbackUrl ?? null,
      // Always both columns: the SQLite bulk insert takes its column list from the first row.
      dlr_url: input.dlrUrl ?? null,
      dlr_mask: input.dlrUrl !== undefined ? (input.dlrMask ?? null) : null,
      smpp_service_type: input.smppServiceType ?? null,
      dlr_format: input.dlrUrl !== undefined ? (input.dlrFormat ?? null) : null,
      created_at: t.now,
      updated_at: t.now,
      sent_at: null,
      final_at: null,
    };
  }

  private build(
    principal: Principal,
    input: SendInput,
    transliterate = false,
  ): { rows: NewMessage[]; result: SendResult } {
    if (!Array.isArray(input.to) || input.to.some((s) => typeof s !== 'string')) {
      throw new ApiError('validation_failed', say('api.send.toType'), 'to');
    }
    this.checkIntegers(input);
    const recipients = input.to.map((s) => s.trim()).filter((s) => s !== '');
    if (recipients.length === 0) throw new ApiError('missing_parameter', say('api.send.noRecipient'), 'to');
    if (recipients.length > this.limits.maxRecipients) {
      throw new ApiError(
        'too_many_recipients',
        say('api.send.tooManyRecipients', { max: this.limits.maxRecipients, got: recipients.length }),
        'to',
      );
    }
    const p = this.checkText(input.text, transliterate);
    if (p instanceof ApiError) throw p;
    this.checkUrlAndSender(input);
    const t = this.times(input);
    const batchId = newId();
    const rows: NewMessage[] = [];
    const messages: RecipientResult[] = [];
    const seen = new Set<string>();
    for (const raw of recipients) {
      const n = this.numbers.normalize(raw);
      if (!n.ok) {
        messages.push({ to: raw, input: raw, error: { code: 'invalid_number', message: n.reason } });
        continue;
      }
      // The same number twice in one request is a client mistake, not two messages.
      if (seen.has(n.e164)) {
        messages.push({
          to: n.e164,
          input: raw,
          error: { code: 'duplicate_recipient', message: 'This number is already in the request.' },
        });
        continue;
      }
      seen.add(n.e164);
      const row = this.row(principal, input, n.e164, p, t, batchId);
      rows.push(row);
      const id = row.id;
      const status = t.scheduled ? 'scheduled' : 'queued';
      messages.push({ id, to: n.e164, status, encoding: p.encoding, segments: p.segments, input: raw });
    }
    const rejected = messages.filter((m) => m.error).length;
    if (rows.length === 0) {
      const first = messages.find((m) => m.error);
      throw new ApiError(
        'no_valid_recipients',
        first?.error ? say('api.send.noValidRecipient', { detail: first.error.message }) : undefined,
        'to',
        { messages },
      );
    }
    if (rejected > 0 && input.allOrNothing) {
      throw new ApiError('invalid_number', say('api.send.invalidRecipients', { rejected }), 'to', {
        messages,
      });
    }
    return { rows, result: { batch_id: batchId, accepted: rows.length, rejected, messages } };
  }
}

/**
 * A request of which nothing was accepted because the balance covered none of it is answered
 * 402 `insufficient_balance` (the refused rows stay in the history as `rejected`); a batch that
 * ran out mid-way is accepted with the rest refused per recipient.
 */
function unpaid(result: SendResult): SendResult {
  const refused = result.messages.filter((m) => 'id' in m && m.error);
  if (
    result.accepted === 0 &&
    refused.length > 0 &&
    refused.every((m) => m.error?.code === 'insufficient_balance')
  ) {
    throw new ApiError(
      'insufficient_balance',
      say('api.send.unpaid', { detail: refused[0]?.error?.message ?? '' }),
      'to',
      result,
    );
  }
  return result;
}

/** The request as compared for idempotency: field order and defaults do not matter. */
function canonical(input: SendInput): unknown {
  return {
    to: input.to,
    text: input.text,
    from: input.from ?? null,
    flash: !!input.flash,
    replaceId: input.replaceId ?? null,
    validity: input.validityMinutes ?? null,
    sendAt: input.sendAt?.toISOString() ?? null,
    maxAttempts: input.maxAttempts ?? null,
    tries: input.triesPerAttempt ?? null,
    callbackUrl: input.callbackUrl ?? null,
    clientRef: input.clientRef ?? null,
    allOrNothing: !!input.allOrNothing,
    channelId: input.channelId ?? null,
    // Only when set, so the hash of every request stored before these fields stays the same.
    ...(input.dlrUrl !== undefined ? { dlrUrl: input.dlrUrl, dlrMask: input.dlrMask ?? null } : {}),
    ...(input.templateId !== undefined ? { templateId: input.templateId, params: input.params ?? null } : {}),
    ...(input.timeZone !== undefined ? { timeZone: input.timeZone } : {}),
    ...(input.dlrFormat !== undefined ? { dlrFormat: input.dlrFormat } : {}),
  };
}

/**
 * Marks the recipients the sending policy refused (the store kept them as rejected) and those
 * it held (stored as scheduled, e.g. quiet hours): the rows are the ones the policy changed.
 */
function markRefused(
  result: SendResult,
  rows: readonly NewMessage[],
  refused: ReadonlyMap<string, Refusal>,
): SendResult {
  const held = new Set(rows.filter((r) => r.status === 'scheduled').map((r) => r.id));
  for (const m of result.messages) {
    if ('id' in m && m.status === 'queued' && held.has(m.id)) m.status = 'scheduled';
    const r = 'id' in m ? refused.get(m.id) : undefined;
    if (r && 'id' in m && m.status !== 'rejected') {
      m.status = 'rejected';
      m.error = { code: r.code, message: r.message };
      result.accepted--;
      result.rejected++;
    }
  }
  return result;
}

/**
 * Rows scheduled for later (send_at, or held by the policy): the claim in the accepting commit
 * cannot take them, and the dispatcher learns when they are due only by looking, so their accept
 * still pokes it.
 */
function held(rows: readonly NewMessage[]): boolean {
  return rows.some((r) => r.status === 'scheduled');
}
