/**
 * The sending policy's port. Every rule (opt-out, blacklist, consent, frequency caps, quiet
 * hours, credits...) is checked in one place: `store/messages.ts` `acceptBatch`, inside the
 * transaction that stores the messages, for every way in (REST, seed API, SMPP, SMTP, Kannel,
 * campaigns). A rule sees the candidates still standing after the rules before it and answers
 * per message; what it writes (counters, ledger rows) commits or rolls back with the messages.
 */
import type SQLite from 'better-sqlite3';
import type { Transaction } from 'kysely';
import type { ErrorCode } from '../core/errors.js';
import type { PriceCache } from '../store/credits.js';
import type { Capabilities, Dialect } from '../store/db.js';
import type { CapsCache } from '../store/policy.js';
import type { Database, NewMessage } from '../store/schema.js';

/** `reject`: stored as `rejected` with the code. `hold`: stored as `scheduled` until `until` (ms). */
export type Verdict =
  { action: 'reject'; code: ErrorCode; message: string } | { action: 'hold'; until: number; reason: string };

export interface PolicyContext {
  readonly trx: Transaction<Database>;
  readonly dialect: Dialect;
  readonly caps: Capabilities;
  /** The accepting transaction's time (ms since the epoch). */
  readonly now: number;
  /**
   * SQLite: the database handle under `trx` (one connection, so its statements are part of the
   * transaction), for statements run once per message, where even a prebuilt Kysely query's
   * round through the driver costs more than the statement (store/compiled.ts rowStatement).
   */
  readonly sqlite?: SQLite.Database | undefined;
  /** This node's price list (store/credits.ts); without it the credits rule reads the batch's prices. */
  readonly prices?: PriceCache | undefined;
  /** This node's frequency caps by owner (store/policy.ts); without it the caps rule reads them. */
  readonly capsConfig?: CapsCache | undefined;
}

/**
 * The `category` stored on a message no rule was applied to (STOP confirmations, HELP answers):
 * caps that count stored messages (SQLite, policy/frequency.ts) leave it out, as PostgreSQL's
 * counters never count it.
 */
export const BYPASS_CATEGORY = '!bypass';

/** What a way in may tell the policy about a message beyond its row. */
export interface MessagePolicyInfo {
  /** Category of the template the text came from (verification, notification, marketing). */
  category?: string | undefined;
  /** Skip every rule (STOP confirmations and HELP answers go out even to opted-out numbers). */
  bypass?: boolean | undefined;
  /** IANA zone of the recipient given with the request (quiet hours); else contact's or number's. */
  timeZone?: string | undefined;
}

export interface Candidate {
  readonly message: NewMessage;
  readonly info: MessagePolicyInfo;
}

export interface PolicyRule {
  /** Stable name, used in logs and metrics. */
  readonly name: string;
  /**
   * Verdicts for the candidates this rule refuses or holds, by message id; candidates not in
   * the map pass. Candidates arrive in request order (a cap of 5 keeps the first 5).
   */
  check(ctx: PolicyContext, candidates: readonly Candidate[]): Promise<Map<string, Verdict>>;
  /**
   * Optional: gives back what `check` took (a frequency cap's places) for candidates it let
   * through that a later rule refused (credits), in the same transaction.
   */
  release?(ctx: PolicyContext, refusedLater: readonly Candidate[]): Promise<void>;
}
