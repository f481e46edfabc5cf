/**
 * The channel port: how the dispatcher reaches phones. Every driver (simulator, smpp, modem,
 * gammu) implements ChannelDriver and reports back only through the ChannelEvents it is given;
 * a driver never touches the store.
 */
import type { ShiftLanguage } from '../codec/gsm7.js';
import type { Encoding } from '../core/message.js';

/** What a driver can do; the dispatcher uses it to refuse features a channel cannot carry. */
export interface ChannelCapabilities {
  flash: boolean;
  replace: boolean;
  deliveryReports: boolean;
  inbound: boolean;
  /** Longest message (in segments) the channel accepts in one submit. */
  maxSegments: number;
  /**
   * National single shift tables this channel may use (opted in per channel: not every handset
   * has them). A text stored as UCS-2 may then leave as GSM-7 in fewer segments.
   */
  shiftTables?: readonly ShiftLanguage[] | undefined;
  /**
   * The channel only pretends to send (the built-in simulator). Routing keeps a shared one for
   * pinned messages once a real channel exists; the API and dashboard label it.
   */
  simulated?: boolean | undefined;
}

/** What a radio or SMSC link carries: every feature, long messages, and the opted-in shift tables. */
export function fullCapabilities(shiftTables: readonly ShiftLanguage[]): ChannelCapabilities {
  return { flash: true, replace: true, deliveryReports: true, inbound: true, maxSegments: 255, shiftTables };
}

/** One message as the dispatcher hands it to a driver. */
export interface OutboundSms {
  /** Our message id; drivers put it in logs, never in the network. */
  id: string;
  /** E.164 with leading '+'. */
  to: string;
  /** Sender id (number or alphanumeric), or undefined for the channel's default. */
  from?: string | undefined;
  text: string;
  encoding: Encoding;
  /** GSM-7 with this national single shift table (the dispatcher chose it from the channel's). */
  shiftTable?: ShiftLanguage | undefined;
  segments: number;
  flash: boolean;
  /** TP-PID "replace short message type" 1..7 (the seed's replacemessages_id). */
  replaceId?: number | undefined;
  /** Relative validity in minutes. */
  validityMinutes?: number | undefined;
  /** Ask the network for a delivery report. */
  deliveryReport: boolean;
}

/** A successful submit: the network's ids for each part, in order. */
export interface SubmitResult {
  remoteIds: string[];
}

/**
 * A failed submit. `permanent` means retrying cannot help (bad number, message refused);
 * otherwise the dispatcher retries, possibly on another channel. `code` is from src/core/errors.
 */
export class SubmitError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly permanent = false,
    /**
     * The message (or some of its parts) may have reached the network: it was handed over and
     * no answer came (a timeout, a dropped link), or some parts were taken and others refused.
     * Such a message is charged like a sent one (never refunded) and a retry may duplicate it.
     */
    readonly outcomeUnknown = false,
  ) {
    super(message);
    this.name = 'SubmitError';
  }
}

/** States a delivery report can carry; `enroute`/`accepted` are intermediate. */
export type ReportState =
  'delivered' | 'undelivered' | 'expired' | 'rejected' | 'enroute' | 'accepted' | 'unknown';

export interface DeliveryReport {
  /** The id of the part this report is about, exactly as the network gave it in the report. */
  remoteId: string;
  /**
   * The same id in the forms the channel is configured to convert it to (an SMSC that answers
   * submit_sm_resp in hex and reports in decimal). Tried only when the exact id matches no
   * part, and applied only when exactly one part matches. Never both forms by default.
   */
  altIds?: readonly string[] | undefined;
  /**
   * The id is a reference that is reused (a modem's TP-MR wraps at 256): the report belongs to
   * the newest part with this id submitted within this many milliseconds.
   */
  idReuseWindowMs?: number | undefined;
  state: ReportState;
  /** Error code from the registry (e.g. unknown_subscriber) when not delivered. */
  errorCode?: string | undefined;
  /** Raw network error (SMPP err:, TP-ST, ...) kept for operators. */
  rawError?: string | undefined;
  at: Date;
}

export interface InboundSms {
  from: string;
  /** Our number the message was sent to, when the channel knows it. */
  to?: string | undefined;
  text: string;
  receivedAt: Date;
  /** True when concatenated parts timed out and only some arrived. */
  incomplete?: boolean | undefined;
}

export type ChannelStatus = 'starting' | 'up' | 'down' | 'stopped';

export interface ChannelHealth {
  status: ChannelStatus;
  /** Signal quality 0..31 (AT+CSQ) where the channel has a radio. */
  signal?: number | undefined;
  operator?: string | undefined;
  lastError?: string | undefined;
  inFlight: number;
}

/**
 * How a driver reports back. `deliveryReport` and `inbound` resolve when what was reported is
 * durable (committed): only then may the driver acknowledge it to its peer (deliver_sm_resp,
 * AT+CMGD). They reject when it could not be stored; the driver then does not acknowledge, so
 * the peer offers it again. Waiting on them is also the driver's backpressure.
 */
export interface ChannelEvents {
  deliveryReport(report: DeliveryReport): Promise<void>;
  inbound(sms: InboundSms): Promise<void>;
  state(health: ChannelHealth): void;
}

export interface ChannelDriver {
  readonly capabilities: ChannelCapabilities;
  /** Connect/bind/open the port; the driver reconnects by itself afterwards. */
  start(events: ChannelEvents): Promise<void>;
  /** Resolves when the SMSC/modem accepted the message; rejects with SubmitError. */
  submit(sms: OutboundSms): Promise<SubmitResult>;
  /**
   * Graceful: drain in-flight submits, unbind/close, and release everything the driver holds
   * (ports, sockets, timers), so the channel can start again (or another program open the
   * port). Calling it twice is harmless.
   */
  stop(): Promise<void>;
  health(): ChannelHealth;
}

/**
 * Builds a driver from a channel's stored config (validated by the driver itself). `stateDir`
 * (`<dataDir>/channels/<channel id>/`, not created) is where a driver may keep what must survive
 * a restart of the gateway; absent when a config is only being validated.
 */
export type ChannelFactory = (
  config: Record<string, unknown>,
  context: { name: string; stateDir?: string | undefined },
) => ChannelDriver;
