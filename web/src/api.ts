/**
 * The dashboard talks only to the public REST API. The session cookie is HttpOnly, so the page
 * never sees it; unsafe requests carry the CSRF token that login returned.
 */
import type { Static } from 'typebox';
import type {
  Campaign as CampaignView,
  CampaignCost as CampaignCostView,
  ChannelView,
  Contact as ContactView,
  Group as GroupView,
  ImportReport as ImportReportView,
  MessageDetail,
  MessageView,
  OtpLogEntry,
  TemplateView,
  UserView,
} from '../../src/api/http/schemas.js';
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

// Response shapes come from the server's own schemas (src/api/http/schemas.ts), which the
// OpenAPI document publishes and the HTTP tests check answers against: no restated shapes.
export type User = Static<typeof UserView>;
export type Message = Static<typeof MessageView> &
  Partial<Pick<Static<typeof MessageDetail>, 'events' | 'parts'>>;
export type Channel = Omit<Static<typeof ChannelView>, 'config'> & { config?: Record<string, unknown> };

export type Contact = Static<typeof ContactView>;
export type Group = Static<typeof GroupView>;
export type ImportReport = Static<typeof ImportReportView>;
export type Campaign = Static<typeof CampaignView>;
export type CampaignCost = Static<typeof CampaignCostView>;
export type OtpLog = Static<typeof OtpLogEntry>;
export type Template = Static<typeof TemplateView>;

// The statuses come from the gateway's own domain module (pure), so the page never drifts from it.
export { FINAL_STATUSES as FINAL, MESSAGE_STATUSES as STATUSES } from '../../src/core/message.js';
