/**
 * What Jasmin's `/balance` and `/rate` answer. smsgw has no credits yet (a credits feature is
 * being built): a balance is `unlimited` and a part costs 0. These two functions are the one
 * place to swap when credits exist.
 */
import type { UserRow } from '../../../../store/schema.js';

export interface JasminBalance {
  balance: number | string;
  sms_count: number | string;
}

export function jasminBalance(_user: UserRow): Promise<JasminBalance> {
  return Promise.resolve({ balance: 'unlimited', sms_count: 'unlimited' });
}

/** The price of one part (`unit_rate`) of a message to `to`. */
export function jasminUnitRate(_user: UserRow, _to: string): Promise<number> {
  return Promise.resolve(0);
}
