/** GSM-7 packing and SMS TPDUs: published fixtures, the classic pitfalls, and property-based round trips. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromSeptets, packSeptets, toSeptets, unpackSeptets } from '../../src/codec/gsm7.js';
import { preview } from '../../src/codec/index.js';
import type { DeliverPdu, SubmitPdu } from '../../src/codec/tpdu.js';
import { decodePdu, encodeSubmitPdus, relativeVp } from '../../src/codec/tpdu.js';

const submitOf = (hex: string): SubmitPdu => {
  const d = decodePdu(hex);
  if (d.type !== 'submit') throw new Error(d.type);
  return d.submit;
};

describe('GSM 03.38 septets', () => {
  it('packs "hellohello" as in TS 23.038 examples', () => {
    expect(packSeptets(toSeptets('hellohello')!).toString('hex').toUpperCase()).toBe('E8329BFD4697D9EC37');
    expect(fromSeptets(unpackSeptets(Buffer.from('E8329BFD4697D9EC37', 'hex'), 10))).toBe('hellohello');
  });

  it('costs two septets for the extension table and refuses characters outside it', () => {
    expect(toSeptets('€[]{}^~|\\\f')).toHaveLength(20);
    expect(toSeptets('©')).toBeUndefined();
    expect(fromSeptets(toSeptets('Ünicode? Üñ€ä§ {ok}')!)).toBe('Ünicode? Üñ€ä§ {ok}');
  });
});

describe('SMS-SUBMIT', () => {
  it('encodes the classic example byte for byte', () => {
    const [p] = encodeSubmitPdus({
      to: '+46708251358',
      text: 'hellohello',
      validityMinutes: 4 * 1440,
      messageReference: 0,
    });
    expect(p).toEqual({ pdu: '0011000B916407281553F80000AA0AE8329BFD4697D9EC37', length: 23 });
  });

  it('sets flash, replace type, status report and national numbers', () => {
    const [p] = encodeSubmitPdus({
      to: '89001234567',
      text: 'Код 1234',
      flash: true,
      replaceId: 1,
      statusReport: true,
    });
    const s = submitOf(p!.pdu);
    expect(s).toMatchObject({
      to: '89001234567',
      text: 'Код 1234',
      encoding: 'ucs2',
      flash: true,
      replaceId: 1,
      statusReport: true,
    });
    expect(p!.pdu.slice(2, 4)).toBe('21'); // SUBMIT + SRR, no VP
  });

  it('never splits an escape sequence at septet 153', () => {
    const text = `${'a'.repeat(152)}€${'b'.repeat(20)}`;
    const pdus = encodeSubmitPdus({ to: '+15555550100', text, concatReference: 7 });
    const parts = pdus.map((p) => submitOf(p.pdu));
    expect(parts[0]!.text).toBe('a'.repeat(152));
    expect(parts[1]!.text).toBe(`€${'b'.repeat(20)}`);
    expect(parts.map((p) => p.concat)).toEqual([
      { ref: 7, total: 2, seq: 1 },
      { ref: 7, total: 2, seq: 2 },
    ]);
  });

  it('never splits an emoji across UCS-2 parts', () => {
    const text = `${'я'.repeat(66)}😀${'я'.repeat(10)}`;
    const parts = encodeSubmitPdus({ to: '+15555550100', text }).map((p) => submitOf(p.pdu));
    expect(parts[0]!.text).toBe('я'.repeat(66));
    expect(parts[1]!.text.startsWith('😀')).toBe(true);
  });

  it('handles the empty text and 10-segment texts', () => {
    expect(submitOf(encodeSubmitPdus({ to: '+1555', text: '' })[0]!.pdu).text).toBe('');
    const long = 'x'.repeat(153 * 10);
    const pdus = encodeSubmitPdus({ to: '+1555', text: long });
    expect(pdus).toHaveLength(10);
    expect(pdus.every((p) => p.length <= 140 + 15)).toBe(true);
  });

  it('maps validity minutes onto TP-VP', () => {
    expect([5, 60, 720, 750, 1440, 2880, 4 * 1440, 60 * 1440].map(relativeVp)).toEqual([
      0, 11, 143, 144, 167, 168, 170, 201,
    ]);
  });

  it('round-trips any text: parts decode and join to the original, counted as preview counts', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), (text) => {
        const pdus = encodeSubmitPdus({ to: '+15555550100', text, concatReference: 9 });
        const parts = pdus.map((p) => submitOf(p.pdu));
        expect(parts.map((p) => p.text).join('')).toBe(text);
        expect(pdus).toHaveLength(preview(text).segments);
        for (const p of pdus) expect(p.length).toBeLessThanOrEqual(140 + 15);
      }),
      { numRuns: 300 },
    );
  });
});

describe('SMS-DELIVER and SMS-STATUS-REPORT', () => {
  it('decodes the classic SMS-DELIVER example', () => {
    const d = decodePdu('07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37');
    expect(d.type).toBe('deliver');
    const m = (d as { deliver: DeliverPdu }).deliver;
    expect(m).toMatchObject({ from: '27838890001', text: 'hellohello', smsc: '+27381000015', flash: false });
    expect(m.timestamp.toISOString()).toBe('1999-03-29T13:16:59.000Z');
  });

  it('decodes alphanumeric originators of odd length', () => {
    for (const name of ['Info', 'Bank', 'Shop77', 'ABC']) {
      const packed = packSeptets(toSeptets(name)!);
      const semiOctets = Math.ceil((name.length * 7) / 4);
      const hex = Buffer.concat([
        Buffer.from([0x00, 0x04, semiOctets, 0xd0]),
        packed,
        Buffer.from([0x00, 0x00]),
        Buffer.from('62111241000080', 'hex'),
        Buffer.from([0x02]),
        packSeptets(toSeptets('hi')!),
      ]).toString('hex');
      const d = decodePdu(hex);
      expect((d as { deliver: DeliverPdu }).deliver.from).toBe(name);
    }
  });

  it('decodes concatenated UCS-2 deliveries', () => {
    const body = Buffer.concat([
      Buffer.from([0x05, 0x00, 0x03, 0x2a, 0x02, 0x01]),
      Buffer.from('Привет', 'utf16le').swap16(),
    ]);
    const hex = Buffer.concat([
      Buffer.from('00440B919700214365F70008', 'hex'),
      Buffer.from('62111241000080', 'hex'),
      Buffer.from([body.length]),
      body,
    ]).toString('hex');
    const d = decodePdu(hex) as { deliver: DeliverPdu };
    expect(d.deliver).toMatchObject({
      from: '+79001234567',
      text: 'Привет',
      encoding: 'ucs2',
      concat: { ref: 42, total: 2, seq: 1 },
    });
  });

  it('reads status reports: reference, recipient and TP-ST', () => {
    const base = '00062A0B919700214365F7621112410000806211124100108000';
    const d = decodePdu(base);
    expect(d).toMatchObject({
      type: 'status-report',
      report: { messageReference: 42, recipient: '+79001234567', status: 0, state: 'delivered' },
    });
    expect((decodePdu(`${base.slice(0, -2)}46`) as { report: { state: string } }).report.state).toBe(
      'expired',
    );
    expect((decodePdu(`${base.slice(0, -2)}62`) as { report: { state: string } }).report.state).toBe(
      'undelivered',
    );
  });

  it('refuses truncated PDUs with an error, not garbage', () => {
    expect(() => decodePdu('0011000B9164')).toThrow(/too short/);
  });
});

describe('national single shift tables and transliteration', () => {
  it.each([
    ['turkish', 'Güzel şehir, İstanbul ğ ı ç Ş'],
    ['spanish', 'Canción para él: ¿qué tal? Ú á í ç'],
    ['portuguese', 'Ação não é só ônibus: Ê Õ ã â'],
  ] as const)('keeps %s text in GSM-7 and round-trips it', (lang, text) => {
    expect(preview(text).encoding).toBe('ucs2');
    const p = preview(text, { shiftTables: [lang] });
    expect(p).toMatchObject({ encoding: 'gsm7', shiftTable: lang, segments: 1 });
    const [pdu] = encodeSubmitPdus({ to: '+905551234567', text, shiftTable: lang });
    expect(submitOf(pdu!.pdu)).toMatchObject({ text, shiftTable: lang, encoding: 'gsm7' });
  });

  it('counts 155 septets alone and 149 per part with a shift table', () => {
    const text = 'ş'.repeat(77) + 'a'; // 155 septets: escape pairs never split
    expect(preview(text, { shiftTables: ['turkish'] })).toMatchObject({
      segments: 1,
      length: 155,
      remaining: 0,
    });
    const long = 'ğ'.repeat(100);
    const p = preview(long, { shiftTables: ['turkish'] });
    expect(p).toMatchObject({ encoding: 'gsm7', segments: 2 });
    const parts = encodeSubmitPdus({
      to: '+90555',
      text: long,
      shiftTable: 'turkish',
      concatReference: 3,
    }).map((x) => submitOf(x.pdu));
    expect(parts).toHaveLength(2);
    expect(parts.map((x) => x.text).join('')).toBe(long);
    expect(parts[0]!.concat).toEqual({ ref: 3, total: 2, seq: 1 });
  });

  it('prefers UCS-2 when no opted-in table covers the text', () => {
    expect(preview('Привет ş', { shiftTables: ['turkish', 'spanish'] }).encoding).toBe('ucs2');
  });

  it('round-trips random Turkish text with the Turkish table', () => {
    const alphabet = [...'abcçdefgğhıijklmnoöprsştuüvyzABCÇDEFGĞHIİJKLMNOÖPRSŞTUÜVYZ 0123456789.,!?€[]{}'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 400 }), (chars) => {
        const text = chars.join('');
        const pdus = encodeSubmitPdus({ to: '+90555', text, shiftTable: 'turkish' });
        expect(pdus.map((x) => submitOf(x.pdu).text).join('')).toBe(text);
        expect(pdus).toHaveLength(preview(text, { shiftTables: ['turkish'] }).segments);
      }),
      { numRuns: 200 },
    );
  });

  it('transliterates typographic characters when asked', () => {
    const p = preview('It’s — “fine”…\u00a0ok', { transliterate: true });
    expect(p).toMatchObject({ encoding: 'gsm7', text: 'It\'s - "fine"... ok', segments: 1 });
    expect(preview('It’s').encoding).toBe('ucs2');
  });
});

describe('16-bit concatenation references', () => {
  it('uses IE 0x08 and keeps every part within one SMS', () => {
    const text = 'x'.repeat(400);
    const pdus = encodeSubmitPdus({ to: '+1555', text, concatReference: 0x1234, ref16: true });
    const parts = pdus.map((p) => submitOf(p.pdu));
    expect(parts.map((p) => p.concat)).toEqual([1, 2, 3].map((seq) => ({ ref: 0x1234, total: 3, seq })));
    expect(parts.map((p) => p.text).join('')).toBe(text);
    expect(pdus.every((p) => p.length <= 140 + 15)).toBe(true);
    const ucs = encodeSubmitPdus({ to: '+1555', text: 'я'.repeat(140), concatReference: 7, ref16: true }).map(
      (p) => submitOf(p.pdu),
    );
    expect(ucs.map((p) => p.text).join('')).toBe('я'.repeat(140));
  });
});
