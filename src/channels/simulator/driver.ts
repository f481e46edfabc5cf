/**
 * The built-in simulator channel: lets the whole gateway run with no hardware. It accepts
 * submits after a latency, paces itself, and reports delivery after a delay with a realistic
 * mix of failures. Rules by recipient prefix make outcomes deterministic for tests and demos.
 */
import { randomBytes } from 'node:crypto';
import type {
  ChannelCapabilities,
  ChannelDriver,
  ChannelEvents,
  ChannelHealth,
  DeliveryReport,
  InboundSms,
  OutboundSms,
  SubmitResult,
} from '../port.js';
import { SubmitError } from '../port.js';
import type { PendingReceipt, SimOutcome } from './journal.js';
import { ReceiptJournal } from './journal.js';

type Outcome = SimOutcome;
/** Rule-only outcome: every part delivered except the last (absent subscriber). */
type RuleOutcome = Outcome | 'last_part_fails' | 'submit_error' | 'submit_rejected';

export interface SimulatorConfig {
  /** Time to accept one submit, ms. */
  latencyMs: number;
  /** Most submits accepted per second; 0 means no cap. */
  ratePerSecond: number;
  /** Time from submit to delivery report, ms. */
  deliveryDelayMs: number;
  /** Share of messages delivered; the rest fail by failureMix. */
  successRate: number;
  /** Relative weights of failure reasons. */
  failureMix: Partial<Record<Exclude<Outcome, 'delivered'>, number>>;
  /**
   * Deterministic outcomes for recipients starting with a prefix: a delivery outcome, or a
   * submit failure ('submit_error' retryable, 'submit_rejected' permanent).
   */
  rules: { prefix: string; outcome: RuleOutcome }[];
  /**
   * Most receipts owed at once (submit × deliveryDelayMs); beyond it submits are throttled.
   * Each costs ~200 bytes of memory and one line in the journal.
   */
  maxPendingReceipts: number;
}

export const SIMULATOR_DEFAULTS: SimulatorConfig = {
  latencyMs: 20,
  ratePerSecond: 0,
  deliveryDelayMs: 1000,
  successRate: 0.95,
  // Roughly what operators see: most failures are phones off or out of coverage.
  failureMix: { absent_subscriber: 0.5, unknown_subscriber: 0.3, network_error: 0.2 },
  rules: [],
  maxPendingReceipts: 100_000,
};

const OUTCOMES = ['delivered', 'unknown_subscriber', 'absent_subscriber', 'network_error', 'expired'];

export function parseSimulatorConfig(raw: Record<string, unknown>): SimulatorConfig {
  const cfg: SimulatorConfig = { ...SIMULATOR_DEFAULTS, ...(raw as Partial<SimulatorConfig>) };
  const nonNegative = (name: keyof SimulatorConfig) => {
    const v = cfg[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new Error(`simulator ${name} must be a number ≥ 0`);
  };
  nonNegative('latencyMs');
  nonNegative('ratePerSecond');
  nonNegative('deliveryDelayMs');
  if (!Number.isInteger(cfg.maxPendingReceipts) || cfg.maxPendingReceipts < 1) {
    throw new Error('simulator maxPendingReceipts must be an integer ≥ 1');
  }
  if (typeof cfg.successRate !== 'number' || cfg.successRate < 0 || cfg.successRate > 1) {
    throw new Error('simulator successRate must be between 0 and 1');
  }
  if (!Array.isArray(cfg.rules)) throw new Error('simulator rules must be a list');
  for (const r of cfg.rules) {
    if (
      typeof r?.prefix !== 'string' ||
      ![...OUTCOMES, 'last_part_fails', 'submit_error', 'submit_rejected'].includes(r.outcome)
    ) {
      throw new Error('each simulator rule needs a prefix and a known outcome');
    }
  }
  return cfg;
}

export class SimulatorDriver implements ChannelDriver {
  readonly capabilities: ChannelCapabilities = {
    flash: true,
    replace: true,
    deliveryReports: true,
    inbound: true,
    maxSegments: 255,
    simulated: true,
  };
  private events: ChannelEvents | undefined;
  private status: ChannelHealth['status'] = 'stopped';
  private inFlight = 0;
  private nextSlot = 0;
  /** Receipts the simulated network still owes, by journal sequence number. */
  private readonly pending = new Map<number, Pending>();
  /** Reports handed to the gateway and not yet committed (stop waits for them). */
  private readonly reporting = new Set<Promise<void>>();
  private journal: ReceiptJournal | undefined;
  private seq = 0;
  /** Every accepted submit, newest last (bounded): lets tests and the UI see what "went out". */
  readonly sent: OutboundSms[] = [];
  /** Every submit call, failed ones included (tests count retries with it). */
  submitCalls = 0;

  constructor(
    private readonly config: SimulatorConfig,
    private readonly random: () => number = Math.random,
    /** Where pending receipts survive a restart; without it they live in memory only. */
    private readonly stateDir?: string,
  ) {}

  /** Receipts still owed (tests). */
  get pendingReceipts(): number {
    return this.pending.size;
  }

  async start(events: ChannelEvents): Promise<void> {
    this.events = events;
    if (this.stateDir !== undefined && this.journal === undefined) {
      this.journal = new ReceiptJournal(this.stateDir);
      // What the network owed when the gateway last stopped or died: due ones are reported at once.
      for (const entry of this.journal.open()) this.schedule(entry);
    }
    this.status = 'up';
    events.state(this.health());
  }

  async submit(sms: OutboundSms): Promise<SubmitResult> {
    if (this.status !== 'up') throw new SubmitError('channel_error', 'simulator is not running');
    this.submitCalls++;
    this.inFlight++;
    try {
      await this.pace();
      if (this.config.latencyMs > 0) await this.sleep(this.config.latencyMs);
      if (this.status !== 'up') throw new SubmitError('channel_error', 'simulator stopped');
      const rule = this.config.rules.find((r) => sms.to.startsWith(r.prefix));
      if (rule?.outcome === 'submit_error')
        throw new SubmitError('network_error', 'simulated submit failure');
      if (rule?.outcome === 'submit_rejected') {
        throw new SubmitError('rejected_by_network', 'simulated permanent rejection', true);
      }
      if (sms.deliveryReport && this.pending.size >= this.config.maxPendingReceipts) {
        // A bounded network: like an SMSC's window, it asks the gateway to slow down.
        throw new SubmitError('throttled', `simulator holds ${this.pending.size} pending receipts`);
      }
      const remoteIds = Array.from({ length: sms.segments }, () => randomBytes(8).toString('hex'));
      if (sms.deliveryReport) {
        const outcome = (rule?.outcome as Outcome | 'last_part_fails' | undefined) ?? this.draw();
        const due = Date.now() + this.config.deliveryDelayMs;
        let entry: PendingReceipt;
        try {
          // Kept before the submit is acknowledged, as an SMSC keeps what it answered.
          entry = this.journal?.add(due, remoteIds, outcome) ?? {
            n: ++this.seq,
            due,
            ids: remoteIds,
            outcome,
          };
        } catch (err) {
          throw new SubmitError(
            'channel_error',
            `simulator could not keep the receipt: ${(err as Error).message}`,
          );
        }
        this.schedule(entry);
      }
      if (this.sent.length >= 10_000) this.sent.shift();
      this.sent.push(sms);
      return { remoteIds };
    } finally {
      this.inFlight--;
    }
  }

  private schedule(entry: PendingReceipt): void {
    const item: Pending = { entry, left: new Set(entry.ids.keys()), timer: undefined };
    this.pending.set(entry.n, item);
    this.arm(item, entry.due - Date.now());
  }

  private arm(item: Pending, delayMs: number): void {
    item.timer = setTimeout(() => this.fire(item), Math.max(0, delayMs));
  }

  /** Reports every part still owed; forgets the entry once all are committed, else tries again. */
  private fire(item: Pending): void {
    item.timer = undefined;
    const events = this.events;
    if (!events || this.status !== 'up') return;
    const { entry } = item;
    const reports = [...item.left].map((i) =>
      events.deliveryReport(reportFor(entry, i)).then(() => {
        item.left.delete(i);
      }),
    );
    const settled = Promise.allSettled(reports).then(() => {
      if (item.left.size === 0) {
        this.pending.delete(entry.n);
        try {
          this.journal?.done(entry.n);
        } catch {
          // Not marked done: it is reported again after a restart, and recorded, not applied.
        }
      } else if (this.status === 'up') {
        // Not committed (the database refused): a network reports again later, it does not forget.
        this.arm(item, RETRY_MS);
      }
    });
    this.reporting.add(settled);
    void settled.finally(() => this.reporting.delete(settled));
  }

  /** Delivers an inbound message as if a phone had sent it to us; resolves when it is stored. */
  injectInbound(sms: Omit<InboundSms, 'receivedAt'>): Promise<void> {
    return (
      this.events?.inbound({ ...sms, receivedAt: new Date() }).catch(() => undefined) ?? Promise.resolve()
    );
  }

  /**
   * Clears the timers and keeps the journal: what is pending is reported after the next start.
   * Reports already handed over are waited for (briefly), so a restart does not repeat them.
   */
  async stop(): Promise<void> {
    this.status = 'stopped';
    for (const item of this.pending.values()) clearTimeout(item.timer);
    this.pending.clear();
    if (this.reporting.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.reporting]),
        new Promise((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS))),
      ]);
      clearTimeout(timer);
    }
    this.journal?.close();
    this.journal = undefined;
  }

  health(): ChannelHealth {
    return { status: this.status, inFlight: this.inFlight, signal: 31, operator: 'smsgw simulator' };
  }

  private draw(): Outcome {
    if (this.random() < this.config.successRate) return 'delivered';
    const mix = Object.entries(this.config.failureMix) as [Outcome, number][];
    const total = mix.reduce((s, [, w]) => s + w, 0);
    let x = this.random() * total;
    for (const [outcome, w] of mix) {
      x -= w;
      if (x <= 0) return outcome;
    }
    return 'absent_subscriber';
  }

  /** A simple pacer: each submit takes the next 1/rate slot. */
  private async pace(): Promise<void> {
    if (this.config.ratePerSecond <= 0) return;
    const now = Date.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + 1000 / this.config.ratePerSecond;
    if (slot > now) await this.sleep(slot - now);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}

export function createSimulatorDriver(
  config: Record<string, unknown>,
  context: { stateDir?: string | undefined } = {},
): SimulatorDriver {
  return new SimulatorDriver(parseSimulatorConfig(config), Math.random, context.stateDir);
}

interface Pending {
  entry: PendingReceipt;
  /** Indexes of the parts whose report is not committed yet. */
  left: Set<number>;
  timer: NodeJS.Timeout | undefined;
}

/** A report that was not committed is offered again after this long. */
const RETRY_MS = 5000;
/** Longest stop() waits for reports already handed to the gateway. */
const STOP_WAIT_MS = 2000;

function reportFor(entry: PendingReceipt, part: number): DeliveryReport {
  const outcome: Outcome =
    entry.outcome === 'last_part_fails'
      ? part === entry.ids.length - 1
        ? 'absent_subscriber'
        : 'delivered'
      : entry.outcome;
  return {
    remoteId: entry.ids[part] as string,
    state: outcome === 'delivered' ? 'delivered' : outcome === 'expired' ? 'expired' : 'undelivered',
    errorCode: outcome === 'delivered' ? undefined : outcome,
    rawError: outcome === 'delivered' ? undefined : `sim:${outcome}`,
    // When the simulated network delivered it (earlier than now when reported after a restart).
    at: new Date(entry.due),
  };
}
