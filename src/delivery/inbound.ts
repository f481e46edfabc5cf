/**
 * Inbound SMS: store it for its owner, then in this order: opt-out words (STOP …, START …,
 * HELP, in six languages: core/keywords.ts; the reply in the word's language), else the owner's first matching keyword rule (auto-reply, forward, tag); finally the
 * inbound webhook. Replies go through the normal queue and policies.
 */
import type { Logger } from 'pino';
import type { InboundSms } from '../channels/port.js';
import {
  DEFAULT_START_WORDS,
  DEFAULT_STOP_WORDS,
  HELP_WORDS,
  keywordLanguage,
  matches,
  normalizeWord,
  render,
  singleWord,
} from '../core/keywords.js';
import { tr } from '../i18n/index.js';
import { normalizeNumber } from '../core/phone.js';
import type { MessageService } from '../services/messages.js';
import type { Store } from '../store/index.js';
import type { InboundRow, UserRow } from '../store/schema.js';

const DAY = 24 * 3_600_000;

/** A user who bound an SMPP receiver this recently is taken to want inbound messages over SMPP. */
export const SMPP_RECEIVER_RECENT_MS = 7 * 86_400_000;

interface Stored {
  row: InboundRow;
  owner: UserRow | undefined;
  channelConfig: string;
}

/**
 * How long a node holds an inbound message's rules (auto-replies, STOP, webhooks queued): far
 * longer than they take (milliseconds), short enough that a node's death delays them little.
 */
const RULES_CLAIM_MS = 5 * 60_000;
/** How often a node looks for rules a stopped node left (claims that ran out). */
export const INBOUND_RESUME_EVERY_MS = 60_000;

export class InboundService {
  /** Inbound messages are processed one at a time, in arrival order. */
  private chain: Promise<void> = Promise.resolve();
  private resumedOnce = false;
  onStored: (row: InboundRow) => void = () => undefined;

  constructor(
    private readonly store: Store,
    private readonly messages: MessageService,
    private readonly log: Logger,
    private readonly poke: () => void,
  ) {}

  /**
   * Stores an inbound message; resolves when it is committed (the channel acknowledges it to
   * the network only then: deliver_sm_resp, AT+CMGD). The rules (STOP, keywords, webhooks) run
   * after that, in arrival order.
   */
  receive(channelId: string, sms: InboundSms): Promise<void> {
    const stored = this.chain.then(() => this.persist(channelId, sms));
    this.chain = stored
      .then(
        (stored) => (stored ? this.react(stored) : undefined),
        (err) => this.log.error({ err, channel: channelId }, 'inbound message not stored'),
      )
      .catch((err) => this.log.error({ err, channel: channelId }, 'inbound processing failed'));
    return stored.then(() => undefined);
  }

  /** Waits until every inbound message so far is processed. */
  idle(): Promise<void> {
    return this.chain;
  }

  /** The message, and what is owed to an SMPP receiver, committed before the network is answered. */
  private async persist(channelId: string, sms: InboundSms): Promise<Stored | undefined> {
    const channel = await this.store.channels.byId(channelId);
    if (!channel) return undefined;
    const n = normalizeNumber(sms.from);
    const from = n.ok ? n.e164 : sms.from;
    const last = await this.store.inbound.lastSenderTo(channelId, from);
    const ownerId = channel.owner_id ?? last?.owner_id ?? (await this.firstAdmin())?.id ?? null;
    const owner = ownerId ? await this.store.users.byId(ownerId) : undefined;
    // The message and its deliver_sm (users who receive over SMPP get inbound messages that
    // way, kept until acknowledged) commit together: a failure between them would leave a
    // stored copy the network, not answered, sends again.
    const row = await this.store.db.kysely.transaction().execute(async (trx) => {
      const stored = await this.store.inbound.insert(
        {
          owner_id: ownerId,
          channel_id: channelId,
          from,
          // A channel that does not know our number: the phone answered the sender id it last saw.
          to: sms.to ?? last?.from ?? null,
          text: sms.text,
          incomplete: sms.incomplete ? 1 : 0,
          keyword: null,
          received_at: sms.receivedAt.getTime(),
        },
        trx,
      );
      if (owner?.smpp_bound_at && Date.now() - owner.smpp_bound_at < SMPP_RECEIVER_RECENT_MS) {
        await this.store.smppOutbox.enqueueMo(owner.id, stored.id, Date.now(), trx);
      }
      return stored;
    });
    return { row, owner, channelConfig: channel.config };
  }

  private async react({ row, owner, channelConfig }: Stored): Promise<void> {
    // Another node resuming at its start may hold it (or have run it): the rules run once.
    const claim = await this.store.inbound.claim(row.id, Date.now(), RULES_CLAIM_MS);
    if (claim === undefined) return;
    if (owner) await this.applyRules(owner, row, channelConfig, claim);
    // Fenced by the claim: a node that was too slow (its claim ran out and another node took
    // the message) leaves the outcome to the one holding it now.
    if (!(await this.store.inbound.markProcessed(row.id, claim, Date.now()))) {
      this.log.warn({ inbound: row.id }, 'inbound rules claim taken over by another node');
      return;
    }
    this.onStored(row);
  }

  /**
   * Runs, in arrival order, the rules of messages that were stored (and acknowledged to the
   * network) by a gateway that stopped before their rules ran: a STOP is never forgotten.
   * Returns how many were queued; call at start, before the channels.
   */
  async resume(): Promise<number> {
    // One process owns a SQLite database: claims left in it are a stopped run's, take them now.
    if (this.store.db.caps.exclusiveNode && !this.resumedOnce) await this.store.inbound.releaseClaims();
    this.resumedOnce = true;
    const rows = await this.store.inbound.unprocessed(10_000);
    for (const row of rows) {
      const channel = await this.store.channels.byId(row.channel_id);
      const owner = row.owner_id ? await this.store.users.byId(row.owner_id) : undefined;
      const stored: Stored = { row, owner, channelConfig: channel?.config ?? '{}' };
      this.chain = this.chain
        .then(() => this.react(stored))
        .catch((err) => this.log.error({ err, inbound: row.id }, 'inbound processing failed'));
    }
    if (rows.length > 0)
      this.log.warn({ count: rows.length }, 'running the rules of inbound messages left unprocessed');
    return rows.length;
  }

  private async firstAdmin(): Promise<UserRow | undefined> {
    return (await this.store.users.list()).find((u) => u.role === 'admin');
  }

  private async applyRules(
    owner: UserRow,
    row: InboundRow,
    channelConfig: string,
    claim: number,
  ): Promise<void> {
    // The claim ran out while this node waited (a long queue, a stall): the taker runs them.
    if (!(await this.store.inbound.holds(row.id, claim))) return;
    const settings = await this.store.webhooks.settings(owner.id);
    const words = (json: string | null, fallback: string[]) =>
      (json ? (JSON.parse(json) as string[]) : fallback).map(normalizeWord);
    // The owner's own reply if set, else ours in the language of the word the subscriber sent.
    const standard = (kind: 'stop' | 'start' | 'help', own: string | null, w: string) =>
      own ?? tr(keywordLanguage(w), `keywords.${kind}`);
    const word = singleWord(row.text);
    const reply = (text: string, bypassOptOut = false) =>
      this.messages
        .send({ user: owner, apiKeyId: null }, { to: [row.from], text }, undefined, {
          bypassOptOut,
          // Queued only while this node's claim holds, in the same transaction: a node whose
          // claim was taken over cannot send a second reply.
          within: async (trx) => {
            if (!(await this.store.inbound.holds(row.id, claim, trx)))
              throw new Error('inbound claim taken over: reply left to its holder');
          },
        })
        .catch((err) => this.log.warn({ err, to: row.from }, 'auto-reply not queued'));

    if (word && words(settings.stop_words, DEFAULT_STOP_WORDS).includes(word)) {
      await this.store.optOuts.add(owner.id, row.from, word);
      // STOP also withdraws any marketing consent on record (issue 14).
      await this.store.consents.revoke(owner.id, row.from, 'stop');
      await this.markKeyword(row, word);
      // The one message an opted-out number still gets: the confirmation.
      await reply(standard('stop', settings.stop_reply, word), true);
    } else if (word && words(settings.start_words, DEFAULT_START_WORDS).includes(word)) {
      await this.store.optOuts.remove(owner.id, row.from);
      await this.markKeyword(row, word);
      await reply(standard('start', settings.start_reply, word));
    } else if (word && HELP_WORDS.includes(word)) {
      await this.markKeyword(row, word);
      await reply(standard('help', settings.help_reply, word), true);
    } else {
      const rules = (await this.store.keywords.forOwner(owner.id)).filter((r) => r.enabled === 1);
      const rule = rules.find((r) => matches(r, row.text));
      if (rule) {
        await this.markKeyword(row, rule.pattern);
        const vars = { from: row.from, to: row.to ?? '', text: row.text };
        if (rule.action === 'auto_reply' && rule.reply_text) await reply(render(rule.reply_text, vars));
        if (rule.action === 'tag' && rule.tag) await this.store.contacts.tag(owner.id, row.from, rule.tag);
        if (rule.action === 'forward' && rule.forward_url) {
          await this.enqueue(owner.id, 'forward', rule.forward_url, `fwd_${row.id}_${rule.id}`, row);
        }
      }
    }
    let url = settings.inbound_webhook_url;
    try {
      url = (JSON.parse(channelConfig) as { inbound_webhook_url?: string }).inbound_webhook_url ?? url;
    } catch {
      // config is validated on write; a broken one just has no webhook
    }
    if (url) await this.enqueue(owner.id, 'inbound', url, `inb_${row.id}`, row);
    this.poke();
  }

  private async markKeyword(row: InboundRow, keyword: string): Promise<void> {
    row.keyword = keyword;
    await this.store.inbound.setKeyword(row.id, keyword);
  }

  private async enqueue(
    ownerId: string,
    kind: 'inbound' | 'forward',
    url: string,
    eventId: string,
    row: InboundRow,
  ) {
    const now = Date.now();
    await this.store.webhooks.enqueue({
      event_id: eventId,
      owner_id: ownerId,
      kind,
      ordering_key: `inbound:${row.from}`,
      url,
      payload: JSON.stringify({
        event_id: eventId,
        type: kind === 'inbound' ? 'message.inbound' : 'message.forward',
        inbound_id: row.id,
        from: row.from,
        to: row.to,
        text: row.text,
        incomplete: row.incomplete === 1,
        channel_id: row.channel_id,
        keyword: row.keyword,
        received_at: new Date(row.received_at).toISOString(),
      }),
      next_attempt_at: now,
      give_up_at: now + DAY,
      created_at: now,
    });
  }
}
