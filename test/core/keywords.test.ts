/** Keyword matching: what counts as the word a person sent. */
import { describe, expect, it } from 'vitest';
import { checkPattern, matches, render, singleWord } from '../../src/core/keywords.js';

describe('keywords', () => {
  it('reads one word, ignoring case, spaces and trailing punctuation', () => {
    expect(singleWord(' stop ')).toBe('STOP');
    expect(singleWord('Stop.')).toBe('STOP');
    expect(singleWord('STOP!!')).toBe('STOP');
    expect(singleWord('stop?')).toBe('STOP');
    expect(singleWord('please stop')).toBeUndefined();
  });

  it('matches exact rules on the whole text and prefix rules on the first words', () => {
    const exact = { match_type: 'exact', pattern: 'HOURS' } as const;
    expect(matches(exact, 'hours')).toBe(true);
    expect(matches(exact, 'Hours?')).toBe(true);
    expect(matches(exact, 'hours please')).toBe(false);
    const prefix = { match_type: 'prefix', pattern: 'JOIN' } as const;
    expect(matches(prefix, 'join club')).toBe(true);
    expect(matches(prefix, 'joiner')).toBe(false);
    expect(matches({ match_type: 'regex', pattern: '^order\\s+\\d+$' }, 'ORDER 42')).toBe(true);
  });

  it('refuses empty, invalid and catastrophic regexes', () => {
    expect(checkPattern({ match_type: 'exact', pattern: ' ' })?.key).toBe('api.delivery.patternEmpty');
    expect(checkPattern({ match_type: 'regex', pattern: '(' })).toMatchObject({
      key: 'api.delivery.patternInvalid',
      params: { detail: expect.stringMatching(/Invalid regular expression/) },
    });
    expect(checkPattern({ match_type: 'regex', pattern: 'a'.repeat(201) })?.key).toBe(
      'api.delivery.patternLong',
    );
    expect(checkPattern({ match_type: 'regex', pattern: '(a+)+$' })?.key).toBe('api.delivery.patternSlow');
    expect(checkPattern({ match_type: 'regex', pattern: '^a+$' })).toBeUndefined();
  });

  it('fills known variables of an auto-reply and leaves unknown ones', () => {
    expect(render('Hi {{from}}, {{nope}}', { from: '+1555' })).toBe('Hi +1555, {{nope}}');
  });
});
