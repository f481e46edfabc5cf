/** SMPP bodies: splitting plain GSM, UCS-2 and shift-table GSM, and the segment count per channel. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodingOn, preview } from '../../src/codec/index.js';
import { fromSeptets, fromSeptetsShifted } from '../../src/codec/gsm7.js';
import { shiftUdhElement, smppParts, ucs2Decode } from '../../src/codec/smpp-text.js';

const TURKISH = 'ŞşĞğİıç';

describe('smppParts', () => {
  it('keeps 160 GSM septets in one part and splits 161 into 153-septet parts', () => {
    expect(smppParts('a'.repeat(160), false)).toHaveLength(1);
    const parts = smppParts('a'.repeat(161), false);
    expect(parts.map((p) => p.length)).toEqual([153, 8]);
  });

  it('never cuts an escape pair at the part boundary', () => {
    const text = `${'a'.repeat(152)}€${'b'.repeat(10)}`;
    const parts = smppParts(text, false);
    expect(parts[0]).toHaveLength(152);
    expect(parts.map((p) => fromSeptets(p)).join('')).toBe(text);
  });

  it('splits UCS-2 at 67 characters without cutting a surrogate pair', () => {
    const text = `${'я'.repeat(66)}🙂${'я'.repeat(10)}`;
    const parts = smppParts(text, true);
    expect(parts.map((p) => ucs2Decode(p)).join('')).toBe(text);
    expect(ucs2Decode(parts[0] as Buffer)).toBe('я'.repeat(66));
  });

  it('with the Turkish shift table: 155 septets alone, 149 per part, and decodes back', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...`${TURKISH}abc xyz0123`.split('')), { minLength: 1, maxLength: 600 }),
        (chars) => {
          const text = chars.join('');
          const parts = smppParts(text, false, 'turkish');
          const septets = parts.reduce((n, p) => n + p.length, 0);
          if (septets <= 155) expect(parts).toHaveLength(1);
          else for (const p of parts) expect(p.length).toBeLessThanOrEqual(149);
          expect(parts.map((p) => fromSeptetsShifted(p, 'turkish')).join('')).toBe(text);
          // The channel's count matches what preview promises for the same tables.
          expect(parts).toHaveLength(preview(text, { shiftTables: ['turkish'] }).segments);
        },
      ),
    );
  });

  it('names the language in the shift element (TS 23.038: Turkish 1, Spanish 2, Portuguese 3)', () => {
    expect([...shiftUdhElement('turkish')]).toEqual([0x24, 0x01, 0x01]);
    expect([...shiftUdhElement('spanish')]).toEqual([0x24, 0x01, 0x02]);
    expect([...shiftUdhElement('portuguese')]).toEqual([0x24, 0x01, 0x03]);
  });
});

describe('encodingOn', () => {
  it('changes a UCS-2 text to GSM-7 only on a channel whose shift tables keep it so', () => {
    const text = 'ışıklar '.repeat(10); // 80 characters: UCS-2 2 segments, Turkish GSM-7 110 septets, 1
    const stored = preview(text);
    expect(stored).toMatchObject({ encoding: 'ucs2', segments: 2 });
    const msg = { text, encoding: stored.encoding, segments: stored.segments };
    expect(encodingOn(msg, ['turkish'])).toEqual({ encoding: 'gsm7', segments: 1, shiftTable: 'turkish' });
    expect(encodingOn(msg, ['spanish'])).toEqual({ encoding: 'ucs2', segments: 2 });
    expect(encodingOn(msg, undefined)).toEqual({ encoding: 'ucs2', segments: 2 });
    const gsm = { text: 'plain', encoding: 'gsm7', segments: 1 };
    expect(encodingOn(gsm, ['turkish'])).toEqual({ encoding: 'gsm7', segments: 1 });
  });
});
