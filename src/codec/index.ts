/**
 * Encoding choice and segment counting (3GPP TS 23.038 default alphabet and extension table).
 * This is the minimal preview the gateway core needs; the full codec (national shift tables,
 * septet packing, UDH, TPDUs — issue 3) grows here behind the same `preview` signature.
 */
import { charSeptets } from './gsm7.js';

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

export function preview(text: string): Preview {
  const chars = [...text];
  const ucs2 = chars.filter((c) => gsmSeptets(c) === 0);
  if (ucs2.length === 0) {
    const units = chars.map((c) => gsmSeptets(c) as number);
    const { segments, used } = countSegments(units, 160, 153);
    const perSegment = segments === 1 ? 160 : 153;
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
  const units = chars.map((c) => c.length);
  const { segments, used } = countSegments(units, 70, 67);
  const perSegment = segments === 1 ? 70 : 67;
  return {
    encoding: 'ucs2',
    segments,
    length: text.length,
    perSegment,
    remaining: perSegment - used,
    ucs2Chars: [...new Set(ucs2)],
    text,
  };
}
