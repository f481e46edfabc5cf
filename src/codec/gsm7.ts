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

/**
 * National language single shift tables (TS 23.038 Annex A.2), opt-in: they replace the
 * extension table when the UDH carries IE 0x24 with the language id. Only some handsets
 * support them, so a channel enables them explicitly.
 */
export type ShiftLanguage = 'turkish' | 'spanish' | 'portuguese';

const BASE_EXTENSION_ENTRIES: [number, string][] = Object.entries(GSM_EXTENSION).map(([k, v]) => [
  Number(k),
  v,
]);

export const SHIFT_TABLES: Readonly<
  Record<ShiftLanguage, { id: number; table: ReadonlyMap<number, string> }>
> = {
  turkish: {
    id: 1,
    table: new Map([
      ...BASE_EXTENSION_ENTRIES,
      [0x47, 'Ğ'],
      [0x49, 'İ'],
      [0x53, 'Ş'],
      [0x63, 'ç'],
      [0x67, 'ğ'],
      [0x69, 'ı'],
      [0x73, 'ş'],
    ]),
  },
  spanish: {
    id: 2,
    table: new Map([
      ...BASE_EXTENSION_ENTRIES,
      [0x09, 'ç'],
      [0x41, 'Á'],
      [0x49, 'Í'],
      [0x4f, 'Ó'],
      [0x55, 'Ú'],
      [0x61, 'á'],
      [0x69, 'í'],
      [0x6f, 'ó'],
      [0x75, 'ú'],
    ]),
  },
  portuguese: {
    id: 3,
    table: new Map([
      ...BASE_EXTENSION_ENTRIES.filter(([k]) => k !== 0x14),
      [0x05, 'ê'],
      [0x09, 'ç'],
      [0x0b, 'Ô'],
      [0x0c, 'ô'],
      [0x0e, 'Á'],
      [0x0f, 'á'],
      [0x12, 'Φ'],
      [0x13, 'Γ'],
      [0x14, '^'],
      [0x15, 'Ω'],
      [0x16, 'Π'],
      [0x17, 'Ψ'],
      [0x18, 'Σ'],
      [0x19, 'Θ'],
      [0x1f, 'Ê'],
      [0x41, 'À'],
      [0x49, 'Í'],
      [0x4f, 'Ó'],
      [0x55, 'Ú'],
      [0x5b, 'Ã'],
      [0x5c, 'Õ'],
      [0x61, 'Â'],
      [0x69, 'í'],
      [0x6f, 'ó'],
      [0x75, 'ú'],
      [0x7b, 'ã'],
      [0x7c, 'õ'],
      [0x7f, 'â'],
    ]),
  },
};

const SHIFT_CODES = Object.fromEntries(
  (Object.keys(SHIFT_TABLES) as ShiftLanguage[]).map((l) => [
    l,
    new Map([...SHIFT_TABLES[l].table].map(([k, v]) => [v, k])),
  ]),
) as Record<ShiftLanguage, Map<string, number>>;

/** A channel config's `shiftTables` option, checked: a list of known languages. */
export function parseShiftTables(v: unknown, where: string): ShiftLanguage[] {
  if (v === undefined) return [];
  const known = Object.keys(SHIFT_TABLES);
  if (!Array.isArray(v) || !v.every((x) => known.includes(x)))
    throw new Error(`${where} shiftTables: a list of ${known.join(', ')}`);
  return v as ShiftLanguage[];
}

/** Septets for one character with a single shift table in force (default alphabet + that table). */
export function charSeptetsShifted(ch: string, shift: ShiftLanguage): number[] | undefined {
  const code = DEFAULT_CODE.get(ch);
  if (code !== undefined) return [code];
  const ext = SHIFT_CODES[shift].get(ch);
  return ext === undefined ? undefined : [0x1b, ext];
}

/** Septets → text with a single shift table in force. */
export function fromSeptetsShifted(septets: ArrayLike<number>, shift: ShiftLanguage): string {
  const table = SHIFT_TABLES[shift].table;
  let out = '';
  for (let i = 0; i < septets.length; i++) {
    const s = (septets[i] as number) & 0x7f;
    if (s === 0x1b && i + 1 < septets.length) out += table.get((septets[++i] as number) & 0x7f) ?? ' ';
    else out += GSM_DEFAULT[s] ?? '?';
  }
  return out;
}

/**
 * Transliteration (opt-in): typographic characters that force UCS-2 for no visible gain are
 * replaced by GSM equivalents, so "It’s — fine…" stays one GSM-7 segment.
 */
const TRANSLITERATIONS: Record<string, string> = {
  '\u2018': "'",
  '\u2019': "'",
  '\u201a': "'",
  '\u201b': "'",
  '\u2032': "'",
  '\u201c': '"',
  '\u201d': '"',
  '\u201e': '"',
  '\u2033': '"',
  '«': '"',
  '»': '"',
  '\u2013': '-',
  '\u2014': '-',
  '\u2012': '-',
  '\u2212': '-',
  '\u2010': '-',
  '\u2011': '-',
  '\u00a0': ' ',
  '\u2007': ' ',
  '\u202f': ' ',
  '\u2009': ' ',
  '\u200a': ' ',
  '\u2002': ' ',
  '\u2003': ' ',
  '\u2026': '...',
  '\u2022': '*',
  '\u00b7': '.',
  '\u200b': '',
  '\ufeff': '',
};

export function transliterate(text: string): string {
  let out = '';
  for (const ch of text) out += TRANSLITERATIONS[ch] ?? ch;
  return out;
}
