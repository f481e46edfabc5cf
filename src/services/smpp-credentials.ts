/**
 * SMPP credentials of their own per user: SMPP 3.4 allows a system_id of 15 characters and a
 * password of 8, so a user whose login or password is longer cannot bind with them. The
 * password is generated (8 characters from 54 unambiguous letters and digits: 46 bits, behind
 * the bind throttle), shown once and stored as a hash like every secret.
 */
import { randomInt } from 'node:crypto';
import { ApiError, say } from '../core/errors.js';
import type { Store } from '../store/index.js';
import type { UserRow } from '../store/schema.js';
import { hashPassword } from './secrets.js';

/** No 0/O, 1/l/I: the password is read off a screen and typed into an ESME's config. */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
/** Printable ASCII without space, as SMPP C-Octet Strings carry it; 1–15 characters. */
export const SYSTEM_ID = /^[\x21-\x7e]{1,15}$/;

export function generateSmppPassword(): string {
  let out = '';
  for (let i = 0; i < 8; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/** A system_id free for `user`: not another user's system_id, nor another user's login (they bind with it). */
async function free(store: Store, user: UserRow, id: string): Promise<boolean> {
  const bySystemId = await store.users.bySmppSystemId(id);
  if (bySystemId && bySystemId.id !== user.id) return false;
  const byLogin = await store.users.byLogin(id);
  return !byLogin || byLogin.id === user.id;
}

/**
 * Issues new SMPP credentials: the system_id asked for, else the user's current one, else its
 * login when that fits SMPP, else a generated one; and a new password, returned once.
 */
export async function issueSmppCredentials(
  store: Store,
  user: UserRow,
  systemId?: string,
): Promise<{ system_id: string; password: string }> {
  let id = systemId ?? user.smpp_system_id ?? undefined;
  if (id !== undefined && !SYSTEM_ID.test(id)) {
    throw new ApiError('validation_failed', say('api.misc.systemIdForm'), 'system_id');
  }
  if (id !== undefined && !(await free(store, user, id))) {
    throw new ApiError('already_exists', say('api.misc.systemIdTaken'), 'system_id');
  }
  if (id === undefined && SYSTEM_ID.test(user.login) && (await free(store, user, user.login)))
    id = user.login;
  for (let i = 0; id === undefined && i < 10; i++) {
    const candidate = `u${generateSmppPassword().toLowerCase().slice(0, 7)}`;
    if (await free(store, user, candidate)) id = candidate;
  }
  if (id === undefined) throw new ApiError('conflict', say('api.misc.noFreeSystemId'), 'system_id');
  const password = generateSmppPassword();
  try {
    await store.users.update(user.id, {
      smpp_system_id: id,
      smpp_password_hash: await hashPassword(password),
    });
  } catch (err) {
    // Another request took the system_id between the check and the update (unique index).
    const e = err as { code?: string; message?: string };
    if (e.code === '23505' || /UNIQUE constraint failed/.test(e.message ?? ''))
      throw new ApiError('already_exists', say('api.misc.systemIdTaken'), 'system_id');
    throw err;
  }
  return { system_id: id, password };
}
