/**
 * What smsgw owes SMPP clients — delivery receipts and inbound messages — from the durable
 * smpp_outbox: rows of users bound here are leased, sent as deliver_sm, and deleted when the
 * client answers deliver_sm_resp OK. A refusal or a dropped bind makes them due again; a node
 * that dies leaves leases that run out. So each reaches the client at least once, across
 * restarts and whichever node it binds to.
 */
import type { Logger } from 'pino';
import { TLV, encodeDeliver } from '../../codec/smpp-pdu.js';
import { formatReceiptText } from '../../codec/smpp-frames.js';
import { gsmUnpackedEncode, ucs2Encode } from '../../codec/smpp-text.js';
import type { Store } from '../../store/index.js';
import type { InboundRow } from '../../store/schema.js';
import type { Owed, OwedReceipt } from '../../store/smpp-outbox.js';

/** A receiving bind as the pump sees it. */
export interface OutboxSink {
  /** deliver_sm sent and not yet answered on this bind. */
  readonly outstanding: number;
  /** Sends the PDU built with the bind's next sequence number; `answered` gets the response status, or -1 if the bind closed first. */
  sendTracked(build: (seq: number) => Buffer, answered: (status: number) => void): void;
}

export interface OutboxPumpOptions {
  /** Unanswered deliver_sm per bind. */
  window: number;
  /** How long a sent deliver_sm may wait for its answer before another node or round may resend it. */
  leaseMs: number;
  /** Look for rows queued by other nodes this often. */
  pollMs: number;
  /** Rows no client collected for this long are dropped. */
  keepMs: number;
  /** A deliver_sm the client refused is offered again after this. */
  retryMs: number;
}

export const OUTBOX_DEFAULTS: OutboxPumpOptions = {
  window: 50,
  leaseMs: 60_000,
  pollMs: 1_000,
  keepMs: 72 * 3_600_000,
  retryMs: 10_000,
};

export const SMPP_STATE: Record<string, number> = {
  scheduled: 1,
  queued: 1,
  sending: 1,
  sent: 1,
  delivered: 2,
  expired: 3,
  canceled: 4,
  undelivered: 5,
  partially_delivered: 5,
  failed: 5,
  rejected: 8,
};

const RECEIPT_STAT: Record<string, string> = {
  delivered: 'DELIVRD',
  expired: 'EXPIRED',
  canceled: 'DELETED',
  undelivered: 'UNDELIV',
  partially_delivered: 'UNDELIV',
  failed: 'UNDELIV',
  rejected: 'REJECTD',
};

/** An inbound message as deliver_sm: GSM when the text allows, else UCS-2. */
export function moPdu(seq: number, row: InboundRow): Buffer {
  const gsm = gsmUnpackedEncode(row.text);
  return encodeDeliver(seq, {
    source: row.from,
    // destination_addr may not be empty (Kannel drops such MO): fall back to our name.
    destination: row.to ?? 'smsgw',
    esmClass: 0,
    dataCoding: gsm ? 0 : 8,
    body: gsm ?? ucs2Encode(row.text),
  });
}

/**
 * The deliver_sm of a receipt: the stat/err text most clients parse, plus the TLVs SMPP 3.4
 * defines. `id` is the id the client was given: the message's, or one part's of a
 * concatenated submit. The text is ASCII (formatReceiptText), sent as the SMSC default alphabet.
 */
export function receiptPdu(seq: number, r: OwedReceipt, id: string = r.message_id): Buffer {
  const success = r.status === 'delivered';
  const text = formatReceiptText({
    id,
    stat: RECEIPT_STAT[r.status] ?? 'UNKNOWN',
    err: success ? '000' : '001',
    submitted: new Date(r.created_at),
    done: new Date(r.final_at ?? Date.now()),
    text: r.text,
  });
  return encodeDeliver(seq, {
    // The receipt comes from the handset the message went to, back to the client's address.
    source: r.to,
    destination: r.from ?? '',
    esmClass: 0x04,
    dataCoding: 0,
    body: Buffer.from(text, 'latin1'),
    tlvs: [
      [TLV.receipted_message_id, Buffer.from(`${id}\0`, 'latin1')],
      [TLV.message_state, Buffer.from([SMPP_STATE[r.status] ?? 7])],
    ],
  });
}

export class OutboxPump {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private stopped = true;
  private acked: number[] = [];
  private refused: Owed[] = [];
  private orphaned: Owed[] = [];
  private lastPurge = 0;

  constructor(
    private readonly store: Store,
    private readonly receiversOf: () => Map<string, OutboxSink[]>,
    private readonly log: Logger,
    private readonly opts: OutboxPumpOptions = OUTBOX_DEFAULTS,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.flush();
  }

  /** Something may be due now: rows queued, a receiver bound, an answer freed a slot. */
  poke(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.round(), ms);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    if (this.stopped) return;
    this.running = true;
    this.again = false;
    try {
      await this.flush();
      await this.sendDue();
      const now = Date.now();
      if (now - this.lastPurge > 3_600_000) {
        this.lastPurge = now;
        const n = await this.store.smppOutbox.purge(now - this.opts.keepMs);
        if (n > 0)
          this.log.warn({ dropped: n }, 'SMPP receipts and inbound messages nobody collected were dropped');
      }
    } catch (err) {
      this.log.error({ err }, 'SMPP outbox round failed');
    } finally {
      this.running = false;
      if (!this.stopped) this.schedule(this.again ? 0 : this.opts.pollMs);
    }
  }

  /** Answers collected since the last round, written in two statements. */
  private async flush(): Promise<void> {
    await this.store.smppOutbox.done(this.acked.splice(0));
    // A client that refused a receipt gets it again a little later, not in a tight loop.
    await this.store.smppOutbox.release(this.refused.splice(0), Date.now() + this.opts.retryMs);
    await this.store.smppOutbox.release(this.orphaned.splice(0));
  }

  private async sendDue(): Promise<void> {
    const now = Date.now();
    for (const [userId, sinks] of this.receiversOf()) {
      const free = sinks.reduce((n, s) => n + Math.max(0, this.opts.window - s.outstanding), 0);
      if (free === 0) continue;
      const rows = await this.store.smppOutbox.claim(userId, now, now + this.opts.leaseMs, free);
      for (const row of rows) {
        const sink = sinks.reduce((a, b) => (b.outstanding < a.outstanding ? b : a));
        const pdus = pdusFor(row);
        // A row is done when the client acknowledged every deliver_sm it stands for (a receipt
        // per part); any refusal or lost bind offers them all again (at least once).
        let waiting = pdus.length;
        let worst = 0;
        for (const build of pdus) {
          sink.sendTracked(build, (status) => {
            if (status !== 0 && worst >= 0) worst = status < 0 ? -1 : status;
            if (--waiting > 0) return;
            if (worst === 0) this.acked.push(row.id);
            else (worst < 0 ? this.orphaned : this.refused).push(row);
            this.poke();
          });
        }
      }
    }
  }
}

/** The deliver_sm a row stands for: one per part id of a concatenated submit, else one. */
function pdusFor(row: Owed): ((seq: number) => Buffer)[] {
  if (row.kind === 'mo') return [(seq) => moPdu(seq, row.mo)];
  const ids = row.receipt.part_ids?.length ? row.receipt.part_ids : [row.receipt.message_id];
  return ids.map((id) => (seq: number) => receiptPdu(seq, row.receipt, id));
}
