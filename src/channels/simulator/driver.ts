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
  InboundSms,
  OutboundSms,
  SubmitResult,
} from '../port.js';
import { SubmitError } from '../port.js';

type Outcome = 'delivered' | 'unknown_subscriber' | 'absent_subscriber' | 'network_error' | 'expired';
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
}

export const SIMULATOR_DEFAULTS: SimulatorConfig = {
  latencyMs: 20,
  ratePerSecond: 0,
  deliveryDelayMs: 1000,
  successRate: 0.95,
  // Roughly what operators see: most failures are phones off or out of coverage.
  failureMix: { absent_subscriber: 0.5, unknown_subscriber: 0.3, network_error: 0.2 },
  rules: [],
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
  private timers = new Set<NodeJS.Timeout>();
  /** Every accepted submit, newest last (bounded): lets tests and the UI see what "went out". */
  readonly sent: OutboundSms[] = [];
  /** Every submit call, failed ones included (tests count retries with it). */
  submitCalls = 0;

  constructor(
    private readonly config: SimulatorConfig,
    private readonly random: () => number = Math.random,
  ) {}

  async start(events: ChannelEvents): Promise<void> {
    this.events = events;
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
      const rule = this.config.rules.find((r) => sms.to.startsWith(r.prefix));
      if (rule?.outcome === 'submit_error')
        throw new SubmitError('network_error', 'simulated submit failure');
      if (rule?.outcome === 'submit_rejected') {
        throw new SubmitError('rejected_by_network', 'simulated permanent rejection', true);
      }
      const remoteIds = Array.from({ length: sms.segments }, () => randomBytes(8).toString('hex'));
      if (this.sent.length >= 10_000) this.sent.shift();
      this.sent.push(sms);
      if (sms.deliveryReport) {
        const drawn = (rule?.outcome as Outcome | 'last_part_fails' | undefined) ?? this.draw();
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          remoteIds.forEach((remoteId, i) => {
            const outcome: Outcome =
              drawn === 'last_part_fails'
                ? i === remoteIds.length - 1
                  ? 'absent_subscriber'
                  : 'delivered'
                : drawn;
            void this.events
              ?.deliveryReport({
                remoteId,
                state:
                  outcome === 'delivered' ? 'delivered' : outcome === 'expired' ? 'expired' : 'undelivered',
                errorCode: outcome === 'delivered' ? undefined : outcome,
                rawError: outcome === 'delivered' ? undefined : `sim:${outcome}`,
                at: new Date(),
              })
              .catch(() => undefined);
          });
        }, this.config.deliveryDelayMs);
        this.timers.add(timer);
      }
      return { remoteIds };
    } finally {
      this.inFlight--;
    }
  }

  /** Delivers an inbound message as if a phone had sent it to us. */
  injectInbound(sms: Omit<InboundSms, 'receivedAt'>): void {
    void this.events?.inbound({ ...sms, receivedAt: new Date() }).catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.status = 'stopped';
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
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

export function createSimulatorDriver(config: Record<string, unknown>): SimulatorDriver {
  return new SimulatorDriver(parseSimulatorConfig(config));
}
