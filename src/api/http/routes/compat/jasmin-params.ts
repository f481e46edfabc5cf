/**
 * Reading Jasmin HTTP API requests (`/send`, `/rate`, `/balance`): the arguments Jasmin knows,
 * checked in Jasmin's order with Jasmin's patterns and wording (`Mandatory argument [to] is not
 * found.`, `Argument [x] is unknown.`), its defaults (coding 0; `dlr=yes` when a dlr-url or
 * dlr-level is given, then level 1 and POST), and the text from `content` or `hex-content`. Pure.
 */
import type { JasminLevel, JasminMethod } from '../../../../core/jasmin-dlr.js';

/** A refusal: Jasmin's HTTP status and message (the face wraps it as `Error "..."` or JSON). */
export class JasminError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

type Field = { optional: boolean; pattern?: RegExp };

/** Jasmin's /send fields, in its order. Passwords are smsgw's, so longer than Jasmin's 16. */
const SEND_FIELDS: [string, Field][] = [
  ['to', { optional: false, pattern: /^\+?\d+$/ }],
  ['from', { optional: true }],
  ['coding', { optional: true, pattern: /^(0|1|2|3|4|5|6|7|8|9|10|13|14)$/ }],
  ['username', { optional: false, pattern: /^.{1,64}$/s }],
  ['password', { optional: false, pattern: /^.{1,256}$/s }],
  ['priority', { optional: true, pattern: /^[0-3]$/ }],
  ['sdt', { optional: true, pattern: /^\d{12}\d\d{2}[-+R]$/ }],
  ['validity-period', { optional: true, pattern: /^\d+$/ }],
  ['dlr', { optional: false, pattern: /^(yes|no)$/ }],
  ['dlr-url', { optional: true, pattern: /^https?:\/\/.*$/s }],
  ['dlr-level', { optional: true, pattern: /^[1-3]$/ }],
  ['dlr-method', { optional: true, pattern: /^(get|post)$/i }],
  ['tags', { optional: true, pattern: /^[-a-zA-Z0-9,]*$/ }],
  ['content', { optional: true }],
  ['hex-content', { optional: true }],
  ['custom_tlvs', { optional: true }],
];

const RATE_FIELDS: [string, Field][] = SEND_FIELDS.filter(([n]) =>
  [
    'to',
    'from',
    'coding',
    'username',
    'password',
    'priority',
    'validity-period',
    'tags',
    'content',
    'hex-content',
  ].includes(n),
);

const BALANCE_FIELDS: [string, Field][] = SEND_FIELDS.filter(([n]) => n === 'username' || n === 'password');

export type JasminArgs = Map<string, string>;

function validate(args: JasminArgs, fields: [string, Field][]): void {
  if (args.size === 0)
    throw new JasminError(400, 'Mandatory arguments not found, please refer to the HTTPAPI specifications.');
  const known = new Set(fields.map(([n]) => n));
  for (const name of args.keys()) {
    if (!known.has(name)) throw new JasminError(400, `Argument [${name}] is unknown.`);
  }
  for (const [name, f] of fields) {
    const v = args.get(name);
    if (v === undefined) {
      if (!f.optional) throw new JasminError(400, `Mandatory argument [${name}] is not found.`);
      continue;
    }
    if (f.pattern && !f.pattern.test(v))
      throw new JasminError(400, `Argument [${name}] has an invalid value: [${v}].`);
  }
}

export interface JasminSend {
  username: string;
  password: string;
  to: string;
  from?: string | undefined;
  text: string;
  coding: number;
  sendAt?: Date | undefined;
  validityMinutes?: number | undefined;
  dlr?: { url?: string | undefined; level: JasminLevel; method: JasminMethod } | undefined;
}

/** A /send request's arguments, checked and defaulted as Jasmin does. */
export function readSend(args: JasminArgs, now = Date.now()): JasminSend {
  const a = new Map(args);
  if (!a.has('coding')) a.set('coding', '0');
  if (a.has('dlr-url') || a.has('dlr-level')) a.set('dlr', 'yes');
  if (!a.has('dlr')) a.set('dlr', 'no');
  if (a.get('dlr') === 'yes') {
    if (!a.has('dlr-level')) a.set('dlr-level', '1');
    if (!a.has('dlr-method')) a.set('dlr-method', 'POST');
  }
  if (a.has('dlr-method')) a.set('dlr-method', (a.get('dlr-method') as string).toUpperCase());
  validate(a, SEND_FIELDS);
  const coding = Number(a.get('coding'));
  const text = readText(a, coding, true);
  const sdt = a.get('sdt');
  const vp = a.get('validity-period');
  return {
    username: a.get('username') as string,
    password: a.get('password') as string,
    to: a.get('to') as string,
    from: a.get('from') || undefined,
    text,
    coding,
    sendAt: sdt !== undefined ? parseSmppTime(sdt, now) : undefined,
    validityMinutes: vp !== undefined ? Number(vp) : undefined,
    dlr:
      a.get('dlr') === 'yes'
        ? {
            url: a.get('dlr-url'),
            level: Number(a.get('dlr-level')) as JasminLevel,
            method: a.get('dlr-method') as JasminMethod,
          }
        : undefined,
  };
}

/** A /rate request: who, to whom, and the text whose parts are counted (content may be absent). */
export function readRate(args: JasminArgs): { username: string; password: string; to: string; text: string } {
  const a = new Map(args);
  if (!a.has('coding')) a.set('coding', '0');
  if (!a.has('content') && !a.has('hex-content')) a.set('content', '');
  validate(a, RATE_FIELDS);
  return {
    username: a.get('username') as string,
    password: a.get('password') as string,
    to: a.get('to') as string,
    text: readText(a, Number(a.get('coding')), false),
  };
}

export function readBalance(args: JasminArgs): { username: string; password: string } {
  validate(args, BALANCE_FIELDS);
  return { username: args.get('username') as string, password: args.get('password') as string };
}

/**
 * The text from `content` (UTF-8, as it came) or `hex-content` (the bytes in the coding's
 * charset: UCS-2 for 8, Latin-1 for 3, ASCII/GSM for 0 and 1). smsgw chooses the encoding of
 * the SMS itself, so a text is a text whatever coding it came with; binary codings (2, 4) and
 * bytes that are no text in their coding are refused.
 */
function readText(a: JasminArgs, coding: number, required: boolean): string {
  const content = a.get('content');
  const hex = a.get('hex-content');
  if (required && content === undefined && hex === undefined)
    throw new JasminError(400, 'content or hex-content not present.');
  if (content !== undefined && hex !== undefined)
    throw new JasminError(400, 'content and hex-content cannot be used both in same request.');
  if (coding === 2 || coding === 4)
    throw new JasminError(
      400,
      `Argument [coding] has an invalid value: [${coding}] (binary messages are not supported by smsgw).`,
    );
  if (hex === undefined) return content ?? '';
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new JasminError(400, `Invalid hex-content data: '${hex}'`);
  const bytes = Buffer.from(hex, 'hex');
  if (coding === 8) {
    if (bytes.length % 2 !== 0) throw new JasminError(400, `Invalid hex-content data: '${hex}'`);
    const swapped = Buffer.from(bytes);
    swapped.swap16();
    return swapped.toString('utf16le');
  }
  if (coding === 3) return bytes.toString('latin1');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new JasminError(400, `Invalid hex-content data: '${hex}'`);
  }
}

/**
 * An SMPP time (`YYMMDDhhmmsstnnp`, SMPP 3.4 §7.1.1) as a date: absolute with the offset from
 * UTC in quarter hours (`+`/`-`), or relative to now (`R`: years, months, days, hours, minutes,
 * seconds from now). Refused when it names no real time.
 */
export function parseSmppTime(s: string, now: number): Date {
  const n = (i: number) => Number(s.slice(i, i + 2));
  const bad = () => new JasminError(400, `Argument [sdt] has an invalid value: [${s}].`);
  const p = s[15];
  if (p === 'R') {
    const d = new Date(now);
    d.setUTCFullYear(d.getUTCFullYear() + n(0), d.getUTCMonth() + n(2), d.getUTCDate() + n(4));
    d.setUTCHours(d.getUTCHours() + n(6), d.getUTCMinutes() + n(8), d.getUTCSeconds() + n(10));
    return d;
  }
  const [yy, mo, dd, hh, mi, ss] = [n(0), n(2), n(4), n(6), n(8), n(10)];
  const tenths = Number(s[12]);
  const offsetMin = n(13) * 15 * (p === '-' ? -1 : 1);
  if (mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh > 23 || mi > 59 || ss > 59 || n(13) > 48) throw bad();
  const local = Date.UTC(2000 + yy, mo - 1, dd, hh, mi, ss, tenths * 100);
  if (new Date(local).getUTCDate() !== dd) throw bad();
  return new Date(local - offsetMin * 60_000);
}

/** `a=1&b=%C3%A9+x`: the first value of each name, decoded as UTF-8 (as Jasmin's twisted args). */
export function argsFromQuery(raw: string, into: JasminArgs = new Map()): JasminArgs {
  for (const [k, v] of new URLSearchParams(raw)) if (!into.has(k)) into.set(k, v);
  return into;
}

/**
 * A JSON object's members as arguments (Jasmin's /send takes an application/json body, its REST
 * API always one): strings as they are, numbers as decimal; `_` in names is `-`, as Jasmin's
 * REST API converts them for clients that cannot write a dash.
 */
export function argsFromJson(body: unknown, opts: { underscores: boolean }): JasminArgs {
  const out: JasminArgs = new Map();
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new JasminError(400, 'Cannot parse JSON data');
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    const name = opts.underscores && k !== 'custom_tlvs' ? k.replace(/_/g, '-') : k;
    if (typeof v === 'string') out.set(name, v);
    else if (typeof v === 'number' && Number.isFinite(v)) out.set(name, String(v));
    else if (typeof v === 'boolean') out.set(name, v ? 'yes' : 'no');
    else if (name === 'custom_tlvs') out.set(name, '');
    else throw new JasminError(400, `Argument [${name}] has an invalid value: [${JSON.stringify(v)}].`);
  }
  return out;
}
