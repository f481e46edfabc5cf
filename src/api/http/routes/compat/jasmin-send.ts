/**
 * What Jasmin's HTTP API and REST API share: authenticating an smsgw user by login and password
 * with Jasmin's refusal, and sending one checked `/send` request through MessageService. A
 * Jasmin `/send` names one recipient; its id is the message id.
 */
import { ApiError } from '../../../../core/errors.js';
import { jasminFormat, jasminMask } from '../../../../core/jasmin-dlr.js';
import type { AuthService } from '../../../../services/auth.js';
import type { MessageService, SendInput } from '../../../../services/messages.js';
import type { UserRow } from '../../../../store/schema.js';
import type { JasminSend } from './jasmin-params.js';
import { JasminError } from './jasmin-params.js';

export interface JasminDeps {
  auth: AuthService;
  messages: MessageService;
}

/** The active user with this login and password, or Jasmin's 403. */
export async function jasminUser(
  auth: AuthService,
  username: string,
  password: string,
  ip: string,
): Promise<UserRow> {
  let user;
  try {
    user = await auth.byPassword(username, password, { ip });
  } catch (err) {
    if (err instanceof ApiError && err.code === 'too_many_attempts') {
      const retry = (err.details as { retry_after_s?: number } | undefined)?.retry_after_s;
      throw new JasminError(429, 'Too many failed logins, try again later.', retry);
    }
    throw err;
  }
  if (!user || user.status !== 'active')
    throw new JasminError(403, `Authentication failure for username:${username}`);
  return user;
}

/** Sends one checked request; the message id, or Jasmin's refusal with smsgw's reason. */
export async function jasminSend(
  messages: MessageService,
  user: UserRow,
  r: JasminSend,
  sendAt?: Date,
): Promise<string> {
  const input: SendInput = {
    to: [r.to],
    text: r.text,
    from: r.from,
    validityMinutes: r.validityMinutes,
    sendAt: r.sendAt ?? sendAt,
    // Jasmin asks the SMSC for a receipt only with dlr=yes; smsgw's default otherwise.
    deliveryReport: r.dlr ? true : undefined,
    ...(r.dlr?.url !== undefined
      ? { dlrUrl: r.dlr.url, dlrMask: jasminMask(r.dlr.level), dlrFormat: jasminFormat(r.dlr.method) }
      : {}),
  };
  let result;
  try {
    result = await messages.send({ user, apiKeyId: null }, input);
  } catch (err) {
    if (err instanceof ApiError) {
      const field = err.field === 'dlr-url' || err.field === 'from' ? ` [${err.field}]` : '';
      throw new JasminError(
        err.status >= 500 ? 500 : 400,
        `${err.message}${field ? ` (argument${field})` : ''}`,
      );
    }
    throw err;
  }
  const m = result.messages[0];
  if (!m || !('id' in m)) throw new JasminError(400, m?.error.message ?? 'Message refused.');
  // Refused by the sending policy (opt-out ...): stored as rejected, so not a success.
  if (m.status === 'rejected') throw new JasminError(400, m.error?.message ?? 'Message refused.');
  return m.id;
}
