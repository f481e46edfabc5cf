/**
 * Encoding choice and segment counting: the cheapest of GSM-7, GSM-7 with an opted-in national
 * single shift table (TS 23.038 Annex A.2), and UCS-2; optional transliteration first.
 * Every face and channel counts segments with this.
 */
import type { ShiftLanguage } from './gsm7.js';
import { charSeptets, charSeptetsShifted, transliterate } from './gsm7.js';

export type { ShiftLanguage } from './gsm7.js';

export interface PreviewOptions {
  /** National single shift tables this channel may use (not every handset supports them). */
  shiftTables?: readonly ShiftLanguage[] | undefined;
  /** Replace smart quotes, long dashes, non-breaking spaces, ellipsis… by GSM equivalents. */
  transliterate?: boolean | undefined;
}

export type Encoding = 'gsm7' | 'ucs2';

export interface Preview {
  encoding: Encoding;
  segments: number;
  /** Septets for GSM-7, UTF-16 code units for UCS-2. */
  length: number;
  /** Units per segment: 160/153 or 70/67. */
  perSegment: number;
  /** Units left in the last segment. */
  remaining: number;
  /** Distinct characters that forced UCS-2. */
  ucs2Chars: string[];
  /** The single shift table used, when one made GSM-7 possible. */
  shiftTable?: ShiftLanguage | undefined;
  /** The text as it will be sent (after transliteration). */
  text: string;
}

/** Septets a character needs in GSM-7, or 0 when it is not in the alphabet. */
export function gsmSeptets(ch: string): 0 | 1 | 2 {
  return (charSeptets(ch)?.length ?? 0) as 0 | 1 | 2;
}

/** Packs units into segments of `per` without splitting any unit (escape pair, surrogate pair). */
function countSegments(units: number[], single: number, per: number): { segments: number; used: number } {
  const total = units.reduce((a, b) => a + b, 0);
  if (total <= single) return { segments: 1, used: total };
  let segments = 1;
  let used = 0;
  for (const u of units) {
    if (used + u > per) {
      segments++;
      used = 0;
    }
    used += u;
  }
  return { segments, used };
}

export function preview(input: string, opts: PreviewOptions = {}): Preview {
  const text = opts.transliterate ? transliterate(input) : input;
  const chars = [...text];
  const ucs2 = chars.filter((c) => gsmSeptets(c) === 0);
  if (ucs2.length === 0) {
    const units = chars.map((c) => gsmSeptets(c) as number);
    return gsmPreview(units, 160, 153, text);
  }
  // A single shift table costs a 3-octet UDH element: 155 septets alone, 149 per concatenated part.
  let best: Preview | undefined;
  for (const shift of opts.shiftTables ?? []) {
    const units = chars.map((c) => charSeptetsShifted(c, shift)?.length ?? 0);
    if (units.includes(0)) continue;
    const p = { ...gsmPreview(units, 155, 149, text), shiftTable: shift };
    if (!best || p.segments < best.segments) best = p;
  }
  const units = chars.map((c) => c.length);
  const { segments, used } = countSegments(units, 70, 67);
  const perSegment = segments === 1 ? 70 : 67;
  const u: Preview = {
    encoding: 'ucs2',
    segments,
    length: text.length,
    perSegment,
    remaining: perSegment - used,
    ucs2Chars: [...new Set(ucs2)],
    text,
  };
  return best && best.segments <= u.segments ? best : u;
}

function gsmPreview(units: number[], single: number, per: number, text: string): Preview {
  const { segments, used } = countSegments(units, single, per);
  const perSegment = segments === 1 ? single : per;
  const length = units.reduce((a, b) => a + b, 0);
  return {
    encoding: 'gsm7',
    segments,
    length,
    perSegment,
    remaining: perSegment - used,
    ucs2Chars: [],
    text,
  };
}

/** How a stored message leaves on a channel: as stored, or GSM-7 with a shift table in no more segments. */
export interface ChannelEncoding {
  encoding: Encoding;
  segments: number;
  shiftTable?: ShiftLanguage | undefined;
}

/**
 * The one place that decides whether a channel's opted-in shift tables change how a message
 * leaves: the dispatcher counts the result against monthly limits and hands it to the driver.
 */
export function encodingOn(
  msg: { text: string; encoding: string; segments: number },
  tables: readonly ShiftLanguage[] | undefined,
): ChannelEncoding {
  const stored = { encoding: msg.encoding as Encoding, segments: msg.segments };
  if (msg.encoding !== 'ucs2' || !tables?.length) return stored;
  const p = preview(msg.text, { shiftTables: tables });
  return p.shiftTable ? { encoding: 'gsm7', segments: p.segments, shiftTable: p.shiftTable } : stored;
}
