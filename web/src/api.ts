/**
 * The dashboard talks only to the public REST API. The session cookie is HttpOnly, so the page
 * never sees it; unsafe requests carry the CSRF token that login returned.
 */
import { language } from './i18n';

export interface ApiErrorBody {
  code: string;
  message: string;
  field?: string;
  details?: unknown;
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.message);
  }
}

let csrf = '';
let onUnauthorized: () => void = () => {};

export function setCsrf(token: string): void {
  csrf = token;
}
/** The CSRF token, for a request api() cannot make (a CSV upload). */
export function csrfToken(): string {
  return csrf;
}
export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  // The language chosen in the page, not only the browser's: the API's human sentences follow it.
  const headers: Record<string, string> = { accept: 'application/json', 'accept-language': language() };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    if (res.status === 401 && !path.startsWith('/auth/')) onUnauthorized();
    const err: ApiErrorBody = (parsed as { error?: ApiErrorBody } | undefined)?.error ?? {
      code: `http_${res.status}`,
      message: res.statusText,
    };
    throw new ApiFailure(res.status, err);
  }
  return parsed as T;
}

/** Query string from an object, dropping empty values. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

export interface User {
  id: string;
  login: string;
  role: 'admin' | 'user';
  status: string;
  smpp_system_id: string | null;
  created_at: string;
}

export interface Message {
  id: string;
  batch_id: string;
  to: string;
  from: string | null;
  text: string;
  encoding: string;
  segments: number;
  flash: boolean;
  replace_id: number | null;
  status: MessageStatus;
  error: { code: string; message: string } | null;
  attempts: number;
  channel_id: string | null;
  pinned_channel_id: string | null;
  send_at: string | null;
  created_at: string;
  sent_at: string | null;
  final_at: string | null;
  events?: {
    id: number;
    status: string;
    error_code: string | null;
    detail: string | null;
    channel_id: string | null;
    at: string;
  }[];
  parts?: { seq: number; remote_id: string | null; status: string; error_code: string | null }[];
}

export interface Channel {
  id: string;
  name: string;
  type: string;
  /** The channel only pretends to send (the built-in simulator). */
  simulator: boolean;
  owner_id: string | null;
  enabled: boolean;
  state: string;
  monthly_limit: number | null;
  count_mode: 'segments' | 'messages';
  min_interval_ms: number;
  max_in_flight: number;
  priority: number;
  used_this_month: number;
  health: { status: string; signal?: number; operator?: string; lastError?: string; inFlight: number } | null;
  config?: Record<string, unknown>;
  /** The node running it now (issue 17); null when none does. */
  node?: string | null;
}

// The statuses come from the gateway's own domain module (pure), so the page never drifts from it.
import type { MessageStatus } from '../../src/core/message.js';
export { FINAL_STATUSES as FINAL, MESSAGE_STATUSES as STATUSES } from '../../src/core/message.js';
