import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/core/errors.js';
import { checkTemplate, render, sign, variablesOf } from '../../src/core/template.js';

const fail = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return { code: err.code, field: err.field };
    throw err;
  }
  throw new Error('did not throw');
};

describe('templates', () => {
  const text = 'Your code is {code}, valid {minutes} min. {code} again';

  it('lists each variable once, in order', () => {
    expect(variablesOf(text)).toEqual(['code', 'minutes']);
    expect(variablesOf('no variables, {not one} {1x}')).toEqual([]);
  });

  it('renders every occurrence', () => {
    expect(render(text, { code: '123456', minutes: 5 }, undefined)).toBe(
      'Your code is 123456, valid 5 min. 123456 again',
    );
  });

  it('renders variables side by side and at either end, and leaves what is not a variable', () => {
    const t = '{a}{b} {not one} {1x} {a}';
    expect(render(t, { a: '1', b: 2 }, undefined)).toBe('12 {not one} {1x} 1');
    // The text is parsed once (core/template.ts): the second render is the same text with other values.
    expect(render(t, { a: 'x', b: 'y' }, undefined)).toBe('xy {not one} {1x} x');
    expect(render('', undefined, undefined)).toBe('');
  });

  it('names the missing or bad param', () => {
    expect(fail(() => render(text, { code: '1' }, undefined))).toEqual({
      code: 'missing_parameter',
      field: 'params.minutes',
    });
    expect(fail(() => render(text, { code: 'abc', minutes: 5 }, { code: { type: 'digits' } }))).toEqual({
      code: 'validation_failed',
      field: 'params.code',
    });
    expect(fail(() => render(text, { code: '1234567', minutes: 5 }, { code: { max_length: 6 } }))).toEqual({
      code: 'validation_failed',
      field: 'params.code',
    });
    expect(fail(() => render(text, { code: '1', minutes: '5x' }, { minutes: { type: 'number' } }))).toEqual({
      code: 'validation_failed',
      field: 'params.minutes',
    });
    // Without a declared length, values are bounded all the same; no nested variables.
    expect(fail(() => render(text, { code: 'x'.repeat(65), minutes: 1 }, undefined)).field).toBe(
      'params.code',
    );
    expect(fail(() => render(text, { code: '{minutes}', minutes: 1 }, undefined)).field).toBe('params.code');
    expect(fail(() => render(text, { code: { a: 1 }, minutes: 1 }, undefined)).field).toBe('params.code');
  });

  it('refuses a declared variable the text does not use', () => {
    expect(fail(() => checkTemplate('Hi {name}', { nme: { type: 'string' } })).field).toBe('variables.nme');
    expect(() => checkTemplate('Hi {name}', { name: { max_length: 10 } })).not.toThrow();
  });

  it('signs before or after, with a space unless brackets separate', () => {
    expect(sign('Code 1', { text: '【Acme】', placement: 'prefix' })).toBe('【Acme】Code 1');
    expect(sign('Code 1', { text: 'Acme:', placement: 'prefix' })).toBe('Acme: Code 1');
    expect(sign('Code 1', { text: '[Acme]', placement: 'suffix' })).toBe('Code 1[Acme]');
    expect(sign('Code 1', { text: '- Acme', placement: 'suffix' })).toBe('Code 1 - Acme');
    expect(sign('Code 1', undefined)).toBe('Code 1');
  });
});
