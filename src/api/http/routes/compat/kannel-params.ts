/**
 * Reading a Kannel sendsms request: CGI variables as bytes (the text's charset is only known
 * once `charset` and `coding` are read), X-Kannel-* headers, and the text decoded as Kannel's
 * smsbox does (`charset_processing`). Pure.
 */

/** A request's variables: the first value of each name, as bytes (Kannel's http_cgi_variable). */
export type KannelParams = Map<string, Buffer>;

/**
 * `a=1&b=%C3%A9+x` → bytes per name; `+` is a space, `%XX` a byte, a broken escape stays as
 * written. The first occurrence of a name wins, as in Kannel.
 */
export function parseUrlEncoded(raw: string, into: KannelParams = new Map()): KannelParams {
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeBytes(eq < 0 ? pair : pair.slice(0, eq)).toString('utf8');
    if (into.has(name)) continue;
    into.set(name, decodeBytes(eq < 0 ? '' : pair.slice(eq + 1)));
  }
  return into;
}

function decodeBytes(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) out.push(0x20);
    else if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) out.push(c);
    else out.push(...Buffer.from(s[i] as string, 'utf8'));
  }
  return Buffer.from(out);
}

/** X-Kannel-* request headers as the variables they stand for (POST with a text/plain body). */
const HEADER_NAMES: Record<string, string> = {
  'x-kannel-username': 'username',
  'x-kannel-password': 'password',
  'x-kannel-from': 'from',
  'x-kannel-to': 'to',
  'x-kannel-smsc': 'smsc',
  'x-kannel-udh': 'udh',
  'x-kannel-dlr-url': 'dlr-url',
  'x-kannel-dlr-mask': 'dlr-mask',
  'x-kannel-account': 'account',
  'x-kannel-binfo': 'binfo',
  'x-kannel-coding': 'coding',
  'x-kannel-pid': 'pid',
  'x-kannel-mwi': 'mwi',
  'x-kannel-mclass': 'mclass',
  'x-kannel-alt-dcs': 'alt-dcs',
  'x-kannel-compress': 'compress',
  'x-kannel-validity': 'validity',
  'x-kannel-deferred': 'deferred',
  'x-kannel-rpi': 'rpi',
  'x-kannel-priority': 'priority',
  'x-kannel-meta-data': 'meta-data',
};

export function paramsFromHeaders(
  headers: Record<string, string | string[] | undefined>,
  into: KannelParams = new Map(),
): KannelParams {
  for (const [header, name] of Object.entries(HEADER_NAMES)) {
    const v = headers[header];
    const value = Array.isArray(v) ? v[0] : v;
    // Node hands header bytes over as latin1 characters; the value is UTF-8 on the wire.
    if (value !== undefined && !into.has(name)) into.set(name, Buffer.from(value.trim(), 'latin1'));
  }
  return into;
}

/** The `charset` parameter of a Content-Type header, if any. */
export function contentTypeCharset(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return m?.[1];
}

/**
 * The message text from its bytes. Kannel takes the text in `charset` when one is given, else
 * as UTF-8 for coding 0 and as UTF-16BE for coding 2 (bytes already in the SMS's UCS-2).
 * Undefined when the bytes are not valid in that charset or the charset is unknown.
 */
export function decodeText(bytes: Buffer, charset: string | undefined, coding: number): string | undefined {
  const label = (charset ?? (coding === 2 ? 'UTF-16BE' : 'UTF-8')).trim().toLowerCase();
  if (label === 'iso-8859-1' || label === 'latin1' || label === 'iso_8859-1' || label === 'l1') {
    return bytes.toString('latin1');
  }
  if (label === 'utf-16be' || label === 'ucs-2' || label === 'ucs2' || label === 'utf-16') {
    if (bytes.length % 2 !== 0) return undefined;
    const swapped = Buffer.from(bytes);
    swapped.swap16();
    return swapped.toString('utf16le');
  }
  try {
    return new TextDecoder(label, { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
