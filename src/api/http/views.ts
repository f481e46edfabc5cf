/** How rows look in API responses: ISO times, booleans, no internal lease fields, secrets redacted. */
import type { ChannelHealth } from '../../channels/port.js';
import type { MessageStatus } from '../../core/message.js';
import type {
  ApiKeyRow,
  ChannelRow,
  MessageEventRow,
  MessagePartRow,
  MessageRow,
  UserRow,
} from '../../store/schema.js';

/**
 * Stored times as ISO strings. Views never throw on stored data: a value JavaScript cannot show
 * as a date (Infinity stored by an old release, see migration 010) reads as null rather than
 * making the whole page answer 500.
 */
export function iso(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  const n = Number(ms);
  return Number.isFinite(n) && Math.abs(n) <= 8.64e15 ? new Date(n).toISOString() : null;
}

/** A stored number as JSON can carry it: finite or null. */
const num = (v: number | null) => (v === null || !Number.isFinite(Number(v)) ? null : v);

/** Stored JSON, or null when it does not parse (views never throw on stored data). */
export function parsedJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

export function messageView(m: MessageRow) {
  return {
    id: m.id,
    batch_id: m.batch_id,
    to: m.to,
    from: m.from,
    text: m.text,
    encoding: m.encoding,
    segments: m.segments,
    flash: m.flash === 1,
    replace_id: num(m.replace_id),
    validity: num(m.validity_minutes),
    delivery_report: m.report_requested === 1,
    // Every status is written through core/message.ts TRANSITIONS, so the column holds one of these.
    status: m.status as MessageStatus,
    /** Nothing will change this message any more (`sent` is final when no report will come). */
    final: m.final_at !== null,
    error: m.error_code ? { code: m.error_code, message: m.error_message } : null,
    attempts: num(m.attempts),
    max_attempts: num(m.max_attempts),
    channel_id: m.channel_id,
    pinned_channel_id: m.pinned_channel_id,
    client_ref: m.client_ref,
    callback_url: m.callback_url,
    send_at: iso(m.send_at),
    expires_at: iso(m.expires_at),
    created_at: iso(m.created_at),
    updated_at: iso(m.updated_at),
    sent_at: iso(m.sent_at),
    final_at: iso(m.final_at),
  };
}

export function eventView(e: MessageEventRow) {
  return {
    id: e.id,
    status: e.status,
    error_code: e.error_code,
    detail: e.detail,
    channel_id: e.channel_id,
    at: iso(e.created_at),
  };
}

export function partView(p: MessagePartRow) {
  return {
    seq: p.seq,
    remote_id: p.remote_id,
    status: p.status,
    error_code: p.error_code,
    updated_at: iso(p.updated_at),
  };
}

export function userView(u: UserRow) {
  return {
    id: u.id,
    login: u.login,
    role: u.role,
    status: u.status,
    smpp_system_id: u.smpp_system_id,
    created_at: iso(u.created_at),
  };
}

export function keyView(k: ApiKeyRow) {
  return {
    id: k.id,
    user_id: k.user_id,
    name: k.name,
    prefix: `sgw_${k.prefix}`,
    callback_url: k.callback_url,
    created_at: iso(k.created_at),
    last_used_at: iso(k.last_used_at),
    revoked_at: iso(k.revoked_at),
  };
}

const SECRET_KEYS = /pass|secret|key|token/i;

/** Channel config with anything that looks like a secret replaced, recursively. */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        SECRET_KEYS.test(k) && typeof v === 'string' ? '***' : redact(v),
      ]),
    );
  }
  return value;
}

/**
 * A channel's state as an operator reads it, from what is true now: disabled, its driver's
 * health where it runs (`up` → running), `error` when its driver refused the stored config,
 * `stopped` otherwise. The stored column alone said `stopped` for channels whose health was up.
 */
export function channelState(c: ChannelRow, health: ChannelHealth | undefined): string {
  if (c.enabled !== 1) return 'disabled';
  if (health) return health.status === 'up' ? 'running' : health.status;
  return c.state === 'error' ? 'error' : 'stopped';
}

export function channelView(
  c: ChannelRow,
  extra: { used_this_month: number; health?: ChannelHealth | undefined },
  withConfig: boolean,
) {
  return {
    id: c.id,
    name: c.name,
    type: c.type,
    // The built-in simulator pretends to send: say so wherever channels are listed.
    simulator: c.type === 'simulator',
    owner_id: c.owner_id,
    enabled: c.enabled === 1,
    state: channelState(c, extra.health),
    monthly_limit: c.monthly_limit,
    count_mode: c.count_mode,
    min_interval_ms: c.min_interval_ms,
    max_in_flight: c.max_in_flight,
    priority: c.priority,
    used_this_month: extra.used_this_month,
    health: extra.health ?? null,
    ...(withConfig ? { config: redact(parsedJson(c.config)) } : {}),
    created_at: iso(c.created_at),
    updated_at: iso(c.updated_at),
  };
}
