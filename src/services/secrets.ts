/** Password hashing (scrypt) and API key minting. Secrets are never stored or logged in clear. */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCb) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

// N=2^15, r=8: ~50 ms and 32 MiB per hash on these machines, OWASP's floor for scrypt.
const N = 1 << 15;
const R = 8;
const P = 1;
const KEYLEN = 32;
const MAXMEM = 64 * 1024 * 1024;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, KEYLEN, { N, r: R, p: P, maxmem: MAXMEM });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** A well-formed hash with today's parameters that no password matches (for unknown logins). */
export function dummyPasswordHash(): string {
  return `scrypt$${N}$${R}$${P}$${randomBytes(16).toString('base64')}$${randomBytes(KEYLEN).toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: MAXMEM,
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** A new API key: `sgw_<prefix>_<secret>`; only the prefix and the secret's hash are stored. */
export function mintApiKey(): { key: string; prefix: string; secretHash: string } {
  const prefix = randomBytes(6).toString('hex');
  const secret = randomBytes(24).toString('base64url');
  return { key: `sgw_${prefix}_${secret}`, prefix, secretHash: sha256(secret) };
}

/** Splits a presented key; undefined when it does not have our shape. */
export function parseApiKey(key: string): { prefix: string; secret: string } | undefined {
  const m = /^sgw_([0-9a-f]{12})_([A-Za-z0-9_-]{16,})$/.exec(key);
  return m ? { prefix: m[1] as string, secret: m[2] as string } : undefined;
}

/**
 * An operator-chosen key (SMSGW_ADMIN_API_KEY) may not have our shape: derive a stable prefix
 * from it and keep the whole string as the secret.
 */
export function apiKeyFromChosen(key: string): { prefix: string; secretHash: string } {
  const parsed = parseApiKey(key);
  if (parsed) return { prefix: parsed.prefix, secretHash: sha256(parsed.secret) };
  return { prefix: sha256(`prefix:${key}`).slice(0, 12), secretHash: sha256(key) };
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(sha256(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function randomPassword(): string {
  return randomBytes(12).toString('base64url');
}
