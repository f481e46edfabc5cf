/**
 * GSM 03.38 (3GPP TS 23.038 §6.2.1) default alphabet and its extension table, text ↔ septets,
 * and septet packing into octets with fill bits after a User Data Header. Pure.
 */

/** The default alphabet by code; 0x1B is the escape to the extension table. */
export const GSM_DEFAULT =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';

/** The extension table: reached as 0x1B followed by the code; each costs two septets. */
export const GSM_EXTENSION: Readonly<Record<number, string>> = {
  0x0a: '\f',
  0x14: '^',
  0x28: '{',
  0x29: '}',
  0x2f: '\\',
  0x3c: '[',
  0x3d: '~',
  0x3e: ']',
  0x40: '|',
  0x65: '€',
};

const DEFAULT_CODE = new Map([...GSM_DEFAULT].map((c, i) => [c, i] as const).filter(([c]) => c !== '\u001b'));
const EXTENSION_CODE = new Map(Object.entries(GSM_EXTENSION).map(([k, v]) => [v, Number(k)]));

/** The septets for one character, or undefined when it is not in GSM 03.38. */
export function charSeptets(ch: string): number[] | undefined {
  const code = DEFAULT_CODE.get(ch);
  if (code !== undefined) return [code];
  const ext = EXTENSION_CODE.get(ch);
  return ext === undefined ? undefined : [0x1b, ext];
}

/** Text → septets; undefined when a character is not in GSM 03.38. */
export function toSeptets(text: string): number[] | undefined {
  const out: number[] = [];
  for (const ch of text) {
    const s = charSeptets(ch);
    if (!s) return undefined;
    out.push(...s);
  }
  return out;
}

/** Septets → text. An escape with an unknown follower reads as a space (as TS 23.038 advises). */
export function fromSeptets(septets: ArrayLike<number>): string {
  let out = '';
  for (let i = 0; i < septets.length; i++) {
    const s = (septets[i] as number) & 0x7f;
    if (s === 0x1b && i + 1 < septets.length) out += GSM_EXTENSION[(septets[++i] as number) & 0x7f] ?? ' ';
    else out += GSM_DEFAULT[s] ?? '?';
  }
  return out;
}

/**
 * Packs septets into octets, least significant bits first. `fillBits` (0–6) are the zero bits
 * that align the septets after a UDH to a septet boundary.
 */
export function packSeptets(septets: ArrayLike<number>, fillBits = 0): Buffer {
  const totalBits = fillBits + septets.length * 7;
  const out = Buffer.alloc(Math.ceil(totalBits / 8));
  let bit = fillBits;
  for (let i = 0; i < septets.length; i++) {
    const v = (septets[i] as number) & 0x7f;
    const byte = bit >> 3;
    const shift = bit & 7;
    out[byte] = ((out[byte] as number) | (v << shift)) & 0xff;
    if (shift > 1) out[byte + 1] = ((out[byte + 1] as number) | (v >> (8 - shift))) & 0xff;
    bit += 7;
  }
  return out;
}

/** Unpacks `count` septets from octets, skipping `fillBits` first. */
export function unpackSeptets(octets: Uint8Array, count: number, fillBits = 0): number[] {
  const out: number[] = [];
  let bit = fillBits;
  for (let i = 0; i < count; i++) {
    const byte = bit >> 3;
    const shift = bit & 7;
    const lo = (octets[byte] ?? 0) >> shift;
    const hi = shift > 1 ? (octets[byte + 1] ?? 0) << (8 - shift) : 0;
    out.push((lo | hi) & 0x7f);
    bit += 7;
  }
  return out;
}
