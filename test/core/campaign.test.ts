import { describe, expect, it } from 'vitest';
import {
  CAMPAIGN_STATUSES,
  CAMPAIGN_TRANSITIONS,
  campaignFrom,
  canMoveCampaign,
  localMinutes,
  nextInWindow,
  parseClock,
  parseZonedTime,
  renderText,
  variablesOf,
} from '../../src/core/campaign.js';
import { sniffDelimiter, looksLikeHeader } from '../../src/core/csv-sniff.js';
import { zoneForNumber } from '../../src/core/number-zone.js';

describe('campaign states', () => {
  it('has one table: finals go nowhere, every status is reachable from draft or scheduled', () => {
    expect(CAMPAIGN_TRANSITIONS.completed).toEqual([]);
    expect(CAMPAIGN_TRANSITIONS.canceled).toEqual([]);
    const reach = new Set<string>(['draft', 'scheduled']);
    for (let i = 0; i < 5; i++)
      for (const s of [...reach]) for (const t of CAMPAIGN_TRANSITIONS[s as 'draft']) reach.add(t);
    expect([...reach].sort()).toEqual([...CAMPAIGN_STATUSES].sort());
  });
  it('allows pause and resume, never back to draft, never out of a final state', () => {
    expect(canMoveCampaign('running', 'paused')).toBe(true);
    expect(canMoveCampaign('paused', 'scheduled')).toBe(true);
    expect(canMoveCampaign('paused', 'running')).toBe(false);
    expect(canMoveCampaign('completed', 'scheduled')).toBe(false);
    expect(canMoveCampaign('canceled', 'paused')).toBe(false);
    expect(campaignFrom('draft')).toEqual([]);
    expect(campaignFrom('canceled').sort()).toEqual(['draft', 'paused', 'running', 'scheduled']);
  });
});

describe('per-recipient text', () => {
  it('fills variables case-insensitively, empty when missing', () => {
    expect(variablesOf('Ciao {name}, a {Città} {name}')).toEqual(['name', 'Città']);
    const r = renderText('Ciao {Name} da {città} {code}', { name: 'Anna', città: 'Roma' });
    expect(r.text).toBe('Ciao Anna da Roma ');
    expect(r.missing).toEqual(['code']);
    expect(renderText('{ not a var}', {}).text).toBe('{ not a var}');
  });
});

describe('send windows and zones', () => {
  it('reads clocks and zoned times', () => {
    expect(parseClock('09:00')).toBe(540);
    expect(parseClock('24:00')).toBe(1440);
    expect(parseClock('9')).toBeUndefined();
    expect(parseClock('25:00')).toBeUndefined();
    expect(new Date(parseZonedTime('2026-12-01T09:00', 'Europe/Rome')).toISOString()).toBe(
      '2026-12-01T08:00:00.000Z',
    );
    expect(new Date(parseZonedTime('2026-07-01T09:00', 'Europe/Rome')).toISOString()).toBe(
      '2026-07-01T07:00:00.000Z',
    );
    expect(new Date(parseZonedTime('2026-07-01T09:00Z', 'Europe/Rome')).toISOString()).toBe(
      '2026-07-01T09:00:00.000Z',
    );
  });
  it('lets a recipient inside the window go now and holds one outside until it opens', () => {
    const at = Date.parse('2026-12-01T07:30:00Z'); // 08:30 in Rome, 02:30 in New York
    expect(localMinutes(at, 'Europe/Rome')).toBe(510);
    expect(nextInWindow(at, 'Europe/Rome', 8 * 60, 20 * 60)).toBe(at);
    expect(new Date(nextInWindow(at, 'America/New_York', 9 * 60, 20 * 60)).toISOString()).toBe(
      '2026-12-01T14:00:00.000Z',
    );
    // Spanning midnight: 22:00–06:00.
    expect(nextInWindow(at, 'America/New_York', 22 * 60, 6 * 60)).toBe(at);
    expect(new Date(nextInWindow(at, 'Europe/Rome', 22 * 60, 6 * 60)).toISOString()).toBe(
      '2026-12-01T21:00:00.000Z',
    );
  });
  it('derives a zone from the number country', () => {
    expect(zoneForNumber('+393331234567')).toBe('Europe/Rome');
    expect(zoneForNumber('+819012345678')).toBe('Asia/Tokyo');
  });
});

describe('CSV sniffing', () => {
  it('finds the delimiter and the header', () => {
    expect(sniffDelimiter('number;name;city\n+39333;Anna;Roma\n')).toBe(';');
    expect(sniffDelimiter('number\tname\n1\t2\n')).toBe('\t');
    expect(sniffDelimiter('"a,b";c;d\n1;2;3\n')).toBe(';');
    expect(sniffDelimiter('+393331234567\n+393331234568\n')).toBe(',');
    expect(looksLikeHeader(['telefono', 'nome'])).toBe(true);
    expect(looksLikeHeader(['+39 333 123 4567', 'Anna'])).toBe(false);
  });
});
