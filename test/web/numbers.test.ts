/** The dashboard's pure helpers: recipients from pasted text or files, wall-clock time in a zone. */
import { describe, expect, it } from 'vitest';
import { parseRecipients, zonedToUtc } from '../../web/src/numbers.js';

describe('parseRecipients', () => {
  it('takes one number per line, or several separated by commas, semicolons or tabs', () => {
    expect(
      parseRecipients('+4915112345678\n+4915112345679, +4915112345680;+4915112345681\t+4915112345682'),
    ).toEqual(['+4915112345678', '+4915112345679', '+4915112345680', '+4915112345681', '+4915112345682']);
  });

  it('reads the phone column of a CSV with a header, quotes and names, and drops duplicates', () => {
    const csv =
      'name,phone,city\r\n"Müller, Anna",+49 151 1234 5678,Berlin\r\nBen,+4915112345678,Köln\r\n\r\n';
    expect(parseRecipients(csv)).toEqual(['+49 151 1234 5678', '+4915112345678']);
  });

  it('passes on lone tokens with digits so the server can say why they are not numbers', () => {
    expect(parseRecipients('12ab\nhello\n+4915112345678')).toEqual(['12ab', '+4915112345678']);
  });
});

describe('zonedToUtc', () => {
  it('turns a wall-clock time in a zone into UTC, on both sides of daylight saving time', () => {
    expect(zonedToUtc('2030-07-01', '09:30', 'America/New_York').toISOString()).toBe(
      '2030-07-01T13:30:00.000Z',
    );
    expect(zonedToUtc('2030-01-15', '09:30', 'America/New_York').toISOString()).toBe(
      '2030-01-15T14:30:00.000Z',
    );
    expect(zonedToUtc('2030-03-31', '12:00', 'Europe/Berlin').toISOString()).toBe('2030-03-31T10:00:00.000Z');
    expect(zonedToUtc('2030-06-01', '00:00', 'Asia/Kolkata').toISOString()).toBe('2030-05-31T18:30:00.000Z');
    expect(zonedToUtc('2030-06-01', '08:00', 'UTC').toISOString()).toBe('2030-06-01T08:00:00.000Z');
  });
});
