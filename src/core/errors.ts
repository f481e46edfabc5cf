import { type Lang, type Sentence, tr } from '../i18n/index.js';

/**
 * One registry of error codes: every API error and every delivery/submit failure uses a code
 * from here, so clients can switch on stable strings. HTTP status applies to API errors. The
 * `message` is the English sentence; src/i18n/locales/ has it in every language (errors.<code>).
 */
export const ERRORS = {
  // Request errors
  validation_failed: { status: 400, message: 'The request is not valid.' },
  invalid_json: { status: 400, message: 'The request body is not valid JSON.' },
  missing_parameter: { status: 400, message: 'A required parameter is missing.' },
  invalid_number: { status: 400, message: 'The phone number is not valid.' },
  duplicate_recipient: { status: 422, message: 'This number is already in the request.' },
  no_valid_recipients: { status: 422, message: 'None of the recipients is a valid phone number.' },
  too_many_recipients: { status: 413, message: 'Too many recipients in one request.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  text_too_long: { status: 422, message: 'The text needs more segments than allowed.' },
  unknown_field: { status: 400, message: 'The request has a field this endpoint does not know.' },
  send_at_in_past: { status: 400, message: 'send_at is in the past.' },
  blank_text: { status: 400, message: 'The message text is blank.' },
  invalid_cursor: { status: 400, message: 'The cursor is not one this endpoint gave out.' },
  unsupported_media_type: { status: 415, message: 'The content type is not supported.' },
  request_timeout: { status: 408, message: 'The request was not received in time.' },
  headers_too_large: { status: 431, message: 'The request headers are too large.' },
  // Auth
  unauthorized: { status: 401, message: 'Authentication is required.' },
  invalid_credentials: { status: 401, message: 'The credentials are not valid.' },
  account_blocked: { status: 403, message: 'The account is blocked.' },
  forbidden: { status: 403, message: 'You are not allowed to do this.' },
  // Resources
  not_found: { status: 404, message: 'The resource does not exist.' },
  route_not_found: { status: 404, message: 'There is no such endpoint.' },
  method_not_allowed: { status: 405, message: 'The method is not allowed here.' },
  conflict: { status: 409, message: 'The resource is in a state that does not allow this.' },
  already_exists: { status: 409, message: 'A resource with this name already exists.' },
  idempotency_key_reused: {
    status: 409,
    message: 'This Idempotency-Key was used with a different request body.',
  },
  not_cancelable: { status: 409, message: 'The message can no longer be canceled.' },
  rate_limited: { status: 429, message: 'Too many requests; slow down.' },
  too_many_attempts: { status: 429, message: 'Too many failed logins; wait before trying again.' },
  too_many_connections: { status: 429, message: 'Too many open connections from this address.' },
  too_many_waiters: { status: 429, message: 'Too many long-poll requests are waiting for this account.' },
  busy: { status: 503, message: 'The server is at its limit of waiting requests; retry shortly.' },
  unsafe_url: { status: 400, message: 'The URL points at an address the gateway may not call.' },
  invalid_xml: { status: 400, message: 'The request body is not well-formed XML.' },
  xml_dtd_forbidden: {
    status: 400,
    message: 'XML with a DOCTYPE or entity declarations is not accepted.',
  },
  internal: { status: 500, message: 'Something went wrong on our side.' },
  unavailable: { status: 503, message: 'The service is not ready.' },

  // Delivery and submit outcomes (not HTTP): mapped from ESME_*, +CMS ERROR, DLR err:, TP-ST.
  unknown_subscriber: { status: 422, message: 'The number is not assigned to a subscriber.' },
  absent_subscriber: { status: 422, message: 'The phone was off or out of coverage.' },
  network_error: { status: 502, message: 'The network could not deliver the message.' },
  channel_error: { status: 502, message: 'The channel failed to submit the message.' },
  channel_timeout: { status: 504, message: 'The channel did not answer in time.' },
  throttled: { status: 429, message: 'The channel asked us to slow down.' },
  no_channel: { status: 503, message: 'No channel is available for this message.' },
  quota_exceeded: { status: 429, message: 'The monthly limit is reached.' },
  blacklisted: { status: 422, message: 'The recipient is blacklisted.' },
  opted_out: { status: 422, message: 'The recipient opted out.' },
  expired: { status: 410, message: 'The message validity ran out before delivery.' },
  // Sending policy: templates, signatures, consent (issue 14)
  template_required: {
    status: 403,
    message: 'This account may send only approved templates (template_id and params).',
  },
  template_not_approved: { status: 422, message: 'The template is not approved.' },
  signature_not_approved: { status: 422, message: 'None of your sender signatures is approved yet.' },
  no_consent: { status: 422, message: 'The recipient has not opted in to marketing messages.' },
  rejected_by_network: { status: 422, message: 'The network rejected the message.' },
  parts_missing: {
    status: 422,
    message: 'Not every part of the concatenated SMPP message arrived in time; nothing was sent.',
  },
  // Sending policy: lists, frequency caps, credits (issue 14; per recipient, stored as rejected).
  frequency_limited: { status: 429, message: 'Too many messages to this recipient in this period.' },
  insufficient_balance: { status: 402, message: 'The balance does not cover this message.' },
  not_whitelisted: { status: 403, message: 'A test-mode account may send only to its whitelist.' },
  no_price: { status: 422, message: 'No price is set for this destination.' },
  list_full: { status: 409, message: 'The list is at its size limit.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/**
 * An error a handler throws to answer with `{"error":{code,message,field}}`. The message is the
 * code's sentence, or a more specific one: always a catalogue `Sentence` (`say(key, params)`),
 * translated for the client (src/i18n/) and rendered in English for logs. A plain string is
 * refused by the type so that no English-only sentence reaches a client again;
 * test/i18n/catalogues.test.ts also scans src for literals and checks every key exists.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly sentence: Sentence | undefined;
  constructor(
    readonly code: ErrorCode,
    message?: Sentence,
    readonly field?: string,
    readonly details?: unknown,
  ) {
    super(message === undefined ? ERRORS[code].message : tr('en', message.key, message.params));
    this.name = 'ApiError';
    this.status = ERRORS[code].status;
    this.sentence = message;
  }

  /** The message in a language: the specific sentence, else the code's. */
  messageIn(lang: Lang): string {
    return this.sentence
      ? tr(lang, this.sentence.key, this.sentence.params)
      : tr(lang, `errors.${this.code}`);
  }
}

/** A catalogue sentence for an ApiError: `new ApiError('not_found', say('api.messages.noSuchMessage'), 'id')`. */
export function say(key: string, params?: Record<string, unknown>): Sentence {
  return params ? { key, params } : { key };
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
}
