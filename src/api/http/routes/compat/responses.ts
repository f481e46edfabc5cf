/**
 * What the compatible faces answer, for the OpenAPI document (issue 18 item 4): each face keeps
 * its original's wire format (Kannel's and Jasmin's text lines, Jasmin REST's and playSMS's JSON),
 * so these schemas describe those formats, status by status, as the originals document them
 * (docs/migrating.md). They document and are tested (test/api/openapi.test.ts); like every
 * response schema here, they do not reshape the answers (openapi.ts).
 */
import { Type } from 'typebox';
import type { TSchema } from 'typebox';

const text = (description: string, pattern: string, example: string) => ({
  description,
  content: { 'text/plain': { schema: Type.String({ pattern, example }) } },
});
const json = (description: string, schema: TSchema) => ({
  description,
  content: { 'application/json': { schema } },
});

/** Kannel's sendsms: a status and one line of text (`0: Accepted for delivery`). */
const kannelError = (description: string, example: string) => text(description, '^.+$', example);
export const KANNEL_RESPONSES = {
  202: text('Queued', '^0: Accepted for delivery$', '0: Accepted for delivery'),
  400: kannelError('Refused input', 'Missing receiver number, rejected'),
  403: kannelError('Wrong username or password', 'Authorization failed for sendsms'),
  413: kannelError('Body too large', 'Request body too large, rejected'),
  429: kannelError('Too many failed logins (Retry-After)', 'Too many failed logins, try again later.'),
  500: kannelError('Sending failed', 'Sending failed.'),
};

/** Jasmin HTTP API /send: `Success "<id>"` or `Error "<reason>"`, text/plain. */
const jasminTextError = (description: string) =>
  text(description, '^Error ".*"$', 'Error "Mandatory argument [to] is not found."');
export const JASMIN_SEND_RESPONSES = {
  200: text('Queued: the message id', '^Success "[^"]+"$', 'Success "0192f1c8-7a4e-7d3b-9a0c-5f1e2d3c4b5a"'),
  400: jasminTextError('Refused argument'),
  403: jasminTextError('Authentication failure'),
  412: jasminTextError('No route, or an unreadable body'),
  413: jasminTextError('Body too large'),
  429: jasminTextError('Too many failed logins (Retry-After)'),
  500: jasminTextError('Unknown error'),
};

/** Jasmin HTTP API /balance and /rate: JSON answers; errors are a JSON string. */
const JasminBalance = Type.Object({
  balance: Type.Union([Type.Number(), Type.String()], { description: '"unlimited" without credits' }),
  sms_count: Type.Union([Type.Number(), Type.String()]),
});
const JasminRate = Type.Object({ unit_rate: Type.Number(), submit_sm_count: Type.Integer({ minimum: 1 }) });
const jasminJsonError = (description: string) =>
  json(description, Type.String({ example: 'Authentication failure for username:acme' }));
export const JASMIN_BALANCE_RESPONSES = {
  200: json('Balance', JasminBalance),
  400: jasminJsonError('Refused argument'),
  403: jasminJsonError('Authentication failure'),
  429: jasminJsonError('Too many failed logins (Retry-After)'),
};
export const JASMIN_RATE_RESPONSES = {
  200: json('Price of one part and the number of parts', JasminRate),
  400: jasminJsonError('Refused argument'),
  403: jasminJsonError('Authentication failure'),
  412: jasminJsonError('No route found'),
  429: jasminJsonError('Too many failed logins (Retry-After)'),
};
export const JASMIN_PING_RESPONSES = { 200: text('Alive', '^Jasmin/PONG$', 'Jasmin/PONG') };

/** Jasmin REST API (/secure/*): `{"data": …}`, errors `{"message": "Error \"…\""}`, 401 its own shape. */
const restError = (description: string) =>
  json(description, Type.Object({ message: Type.String({ pattern: '^Error ".*"$' }) }));
const restErrors = {
  400: restError('Refused argument'),
  401: json(
    'No or malformed HTTP Basic credentials',
    Type.Object({ title: Type.String(), description: Type.String() }),
  ),
  403: restError('Authentication failure'),
  412: restError('Unreadable JSON body or schedule'),
  429: restError('Too many failed logins (Retry-After)'),
};
export const JASMIN_REST_SEND_RESPONSES = {
  200: json('Queued', Type.Object({ data: Type.String({ pattern: '^Success "[^"]+"$' }) })),
  ...restErrors,
};
export const JASMIN_REST_BATCH_RESPONSES = {
  200: json(
    'Batch accepted',
    Type.Object({
      data: Type.Object({
        batchId: Type.String(),
        messageCount: Type.Integer({ minimum: 0 }),
        scheduled: Type.Optional(Type.String()),
      }),
    }),
  ),
  ...restErrors,
};
export const JASMIN_REST_BALANCE_RESPONSES = {
  200: json('Balance', Type.Object({ data: JasminBalance })),
  ...restErrors,
};
export const JASMIN_REST_RATE_RESPONSES = {
  200: json('Price of one part and the number of parts', Type.Object({ data: JasminRate })),
  ...restErrors,
};

/**
 * playSMS webservices: always 200 (as playSMS), the outcome in the body: `data` rows, or
 * `status: "ERR"` with playSMS's error number (100 authentication, 101 unknown op, 102 invalid
 * field, 200 send failed, 201 empty, 400 no status).
 */
const PlaySmsSent = Type.Object({
  status: Type.Union([Type.Literal('OK'), Type.Literal('ERR')]),
  error: Type.String(),
  smslog_id: Type.String(),
  queue: Type.String(),
  to: Type.String(),
});
const PlaySmsStatus = Type.Object({
  smslog_id: Type.String(),
  src: Type.String(),
  dst: Type.String(),
  msg: Type.String(),
  dt: Type.String(),
  update: Type.String(),
  status: Type.Integer({ description: '0 pending, 1 sent, 2 failed, 3 delivered' }),
});
export const PLAYSMS_RESPONSES = {
  200: json(
    'op=pv: one row per destination; op=ds: delivery statuses; or an error',
    Type.Union([
      Type.Object({
        data: Type.Union([Type.Array(PlaySmsSent), Type.Array(PlaySmsStatus)]),
        error_string: Type.Null(),
        timestamp: Type.Integer(),
      }),
      Type.Object({
        status: Type.Literal('ERR'),
        error: Type.String({ example: '100' }),
        error_string: Type.String(),
        timestamp: Type.Integer(),
      }),
    ]),
  ),
};
