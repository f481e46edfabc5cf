/**
 * The server's catalogues (src/i18n/locales/): every registered error code has its sentence in
 * every language, English word for word as the registry says; every language has exactly the
 * keys English has, each plural in the forms its Intl.PluralRules asks for, the placeholders
 * English has (an English-only `detail` from a parser aside), and no sentence left in English.
 */
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/core/errors.js';
import { CATALOGUES, LANGS, fromAcceptLanguage, fromEnvironment, tr } from '../../src/i18n/index.js';

type Tree = { [k: string]: string | Tree };

function flatten(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(key, v);
    else for (const [kk, vv] of flatten(v, key)) out.set(kk, vv);
  }
  return out;
}

const PLURAL = /_(zero|one|two|few|many|other)$/;
const base = (key: string) => key.replace(PLURAL, '');
const placeholders = (s: string) => new Set([...s.matchAll(/\{\{\s*(\w+)/g)].map((m) => m[1] as string));
/** Words Italian operators use as they are (the Italian dashboard says "Password" too). */
const SAME_AS_ENGLISH = new Set(['it cli.labelPassword']);
/** Parser details (JSON.parse, ajv) exist only in English; translations leave them out. */
const ENGLISH_ONLY = new Set(['detail']);

const flat = Object.fromEntries(LANGS.map((l) => [l, flatten(CATALOGUES[l] as Tree)])) as Record<
  (typeof LANGS)[number],
  Map<string, string>
>;
const en = flat.en;

describe('server catalogues', () => {
  it('has a sentence for every registered error code in every language', () => {
    for (const lang of LANGS) {
      const missing = Object.keys(ERRORS).filter((code) => !flat[lang].get(`errors.${code}`)?.trim());
      expect(missing, lang).toEqual([]);
    }
    for (const [code, { message }] of Object.entries(ERRORS)) {
      expect(en.get(`errors.${code}`), code).toBe(message);
    }
    const extra = [...en.keys()]
      .filter((k) => k.startsWith('errors.'))
      .filter((k) => !Object.hasOwn(ERRORS, k.slice(7)));
    expect(extra).toEqual([]);
  });

  it('has every key English has and no other, plurals in the forms the language needs', () => {
    const enBases = new Set([...en.keys()].map(base));
    for (const lang of LANGS) {
      const keys = [...flat[lang].keys()];
      const bases = new Set(keys.map(base));
      expect(
        [...enBases].filter((k) => !bases.has(k)),
        `${lang}: missing`,
      ).toEqual([]);
      expect(
        [...bases].filter((k) => !enBases.has(k)),
        `${lang}: extra`,
      ).toEqual([]);
      const forms = new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
      for (const b of new Set(keys.filter((k) => PLURAL.test(k)).map(base))) {
        for (const f of forms) expect(flat[lang].has(`${b}_${f}`), `${lang}: ${b}_${f}`).toBe(true);
      }
    }
  });

  it('keeps the placeholders and leaves nothing in English', () => {
    for (const lang of LANGS.filter((l) => l !== 'en')) {
      for (const [key, text] of flat[lang]) {
        const enText = en.get(key) ?? en.get(`${base(key)}_other`) ?? '';
        const want = [...placeholders(enText)].filter((p) => !ENGLISH_ONLY.has(p) && p !== 'count');
        const have = placeholders(text);
        expect(
          want.filter((p) => !have.has(p)),
          `${lang} ${key}`,
        ).toEqual([]);
        expect(
          [...have].filter((p) => !placeholders(enText).has(p) && p !== 'count'),
          `${lang} ${key}`,
        ).toEqual([]);
        if (!SAME_AS_ENGLISH.has(`${lang} ${key}`)) {
          expect(text, `${lang} ${key} is still English`).not.toBe(enText);
        }
      }
    }
  });

  it('renders plurals and nested parts in the language', () => {
    expect(tr('ru', 'api.rule.minLength', { count: 5 })).toBe('должно быть не короче 5 символов');
    expect(tr('ru', 'api.rule.minLength', { count: 1 })).toBe('должно быть не короче 1 символа');
    expect(tr('de', 'api.unknownField', { field: 'sender', where: { key: 'api.where.body' } })).toContain(
      '„sender“ im Anfragetext',
    );
  });

  it('picks the language from Accept-Language by q-value, else English', () => {
    expect(fromAcceptLanguage('ru-RU,ru;q=0.9,en-US;q=0.8')).toBe('ru');
    expect(fromAcceptLanguage('en;q=0.5, fa-IR')).toBe('fa');
    expect(fromAcceptLanguage('ja, zh-CN;q=0.7')).toBe('zh');
    expect(fromAcceptLanguage('de;q=0, it;q=0.1')).toBe('it');
    expect(fromAcceptLanguage('*')).toBe('en');
    expect(fromAcceptLanguage(undefined)).toBe('en');
    expect(fromAcceptLanguage(';;;,q=,ru;q=abc')).toBe('en');
  });

  it('picks the CLI language from --lang, else LC_ALL, LC_MESSAGES, LANG', () => {
    expect(fromEnvironment({ LANG: 'ru_RU.UTF-8' })).toBe('ru');
    expect(fromEnvironment({ LC_ALL: 'de_DE.UTF-8', LANG: 'ru_RU.UTF-8' })).toBe('de');
    expect(fromEnvironment({ LC_MESSAGES: 'fa_IR', LANG: 'it_IT' })).toBe('fa');
    expect(fromEnvironment({ LC_ALL: 'C', LANG: 'ru_RU' })).toBe('en');
    expect(fromEnvironment({ LANG: 'zh_CN.UTF-8' }, 'it')).toBe('it');
    expect(fromEnvironment({})).toBe('en');
  });
});
