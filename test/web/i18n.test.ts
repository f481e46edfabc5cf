/**
 * The dashboard's translations: every language has exactly the keys English has (no missing, no
 * extra), each plural in every form its language's Intl.PluralRules asks for, the same
 * placeholders, no untranslated English left behind; and every key the source uses exists.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/core/errors.js';
import { DEFAULT_START_WORDS, DEFAULT_STOP_WORDS } from '../../src/core/keywords.js';
import { LANGUAGES, pickLanguage } from '../../web/src/languages.js';

const WEB = join(import.meta.dirname, '..', '..', 'web', 'src');
type Tree = { [k: string]: string | Tree };
const readTree = (...path: string[]): Tree => JSON.parse(readFileSync(join(WEB, ...path), 'utf8')) as Tree;
/**
 * A language's catalogue as web/src/i18n.ts builds it: the main file, the operators' pages' own
 * (locales/ops/, top-level keys that must not clash), the bulk pages' (locales/bulk/, the same)
 * and the policy pages' (locales/policy/,
 * merged section by section).
 */
const catalogue = (lang: string): Tree => {
  const main = readTree('locales', `${lang}.json`);
  const ops = readTree('locales', 'ops', `${lang}.json`);
  const clash = Object.keys(ops).filter((k) => Object.hasOwn(main, k));
  if (clash.length > 0) throw new Error(`locales/ops/${lang}.json redefines ${clash.join(', ')}`);
  // Contacts, campaigns and the OTP log (locales/bulk/): one top-level section of their own.
  const bulk = readTree('locales', 'bulk', `${lang}.json`);
  const bulkClash = Object.keys(bulk).filter((k) => Object.hasOwn(main, k) || Object.hasOwn(ops, k));
  if (bulkClash.length > 0) throw new Error(`locales/bulk/${lang}.json redefines ${bulkClash.join(', ')}`);
  const out: Tree = { ...main, ...ops, ...bulk };
  for (const [k, v] of Object.entries(readTree('locales', 'policy', `${lang}.json`))) {
    const had = out[k];
    out[k] = typeof had === 'object' && typeof v === 'object' ? { ...had, ...v } : v;
  }
  return out;
};

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
/** Base key → the plural forms present ([] for a key that is not a plural). */
function shape(flat: Map<string, string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const key of flat.keys()) {
    const m = PLURAL.exec(key);
    const base = m ? key.slice(0, m.index) : key;
    const forms = out.get(base) ?? [];
    if (m) forms.push(m[1] as string);
    out.set(base, forms);
  }
  return out;
}
const placeholders = (s: string) => [...s.matchAll(/\{\{\s*([a-zA-Z]+)[^}]*\}\}/g)].map((m) => m[1]).sort();

const CODES = LANGUAGES.map((l) => l.code);
const en = flatten(catalogue('en'));
const enShape = shape(en);

// Words that are the same in a translation as in English: product and protocol names, and words
// each language really spells the same (reviewed one by one, named by key).
const SAME_EVERYWHERE = new Set(['Gammu', 'SMPP']);
const SAME_AS_ENGLISH: Record<string, string[]> = {
  it: ['nav.menu', 'login.password', 'detail.flash', 'channelConfig.smpp.password'],
  de: [
    'lists.optional',
    'common.optional',
    'common.status',
    'send.text',
    'detail.details',
    'detail.normal',
    'channels.name',
    'bulk.contacts.name',
    'channels.signal',
    'channelConfig.smpp.port',
  ],
};

describe('dashboard translations', () => {
  it("reads the operators' pages' catalogues too", () => {
    for (const lang of CODES) expect(Object.keys(catalogue(lang))).toContain('ops');
    expect(en.get('ops.audit.title')).toBe('Audit log');
  });

  it("reads the contacts, campaigns and OTP pages' catalogues too", () => {
    for (const lang of CODES) expect(Object.keys(catalogue(lang))).toContain('bulk');
    expect(en.get('bulk.campaigns.title')).toBe('Campaigns');
  });

  it('offers six languages, English first', () => {
    expect(CODES).toEqual(['en', 'ru', 'zh', 'it', 'fa', 'de']);
  });

  it("merges the policy pages' catalogue without overwriting a key of the main one", () => {
    for (const lang of CODES) {
      const main = flatten(readTree('locales', `${lang}.json`));
      const policy = [...flatten(readTree('locales', 'policy', `${lang}.json`)).keys()];
      expect(policy.length).toBeGreaterThan(100);
      expect({ lang, both: policy.filter((k) => main.has(k)) }).toEqual({ lang, both: [] });
      // A string in one file and a section in the other would be lost in the merge.
      const sections = new Set(policy.map((k) => k.split('.')[0]));
      expect([...sections].filter((s) => main.has(s as string))).toEqual([]);
    }
  });

  for (const lang of CODES.filter((c) => c !== 'en')) {
    describe(lang, () => {
      const flat = flatten(catalogue(lang));
      const sh = shape(flat);

      it('has every English key and no other', () => {
        const missing = [...enShape.keys()].filter((k) => !sh.has(k));
        const extra = [...sh.keys()].filter((k) => !enShape.has(k));
        expect({ missing, extra }).toEqual({ missing: [], extra: [] });
      });

      it('gives each plural exactly the forms Intl.PluralRules has for the language', () => {
        const categories = [...new Intl.PluralRules(lang).resolvedOptions().pluralCategories].sort();
        const wrong: string[] = [];
        for (const [base, forms] of enShape) {
          const mine = [...(sh.get(base) ?? [])].sort();
          if (forms.length === 0 ? mine.length > 0 : mine.join() !== categories.join())
            wrong.push(`${base}: ${mine.join(',') || '(not plural)'}`);
        }
        expect(wrong).toEqual([]);
      });

      it('keeps the placeholders of every English text', () => {
        const wrong: string[] = [];
        for (const [key, value] of flat) {
          const base = key.replace(PLURAL, '');
          const source = en.get(key) ?? en.get(`${base}_other`) ?? '';
          if (
            placeholders(value)
              .filter((p) => p !== 'count')
              .join() !==
            placeholders(source)
              .filter((p) => p !== 'count')
              .join()
          )
            wrong.push(`${key}: ${value}`);
        }
        expect(wrong).toEqual([]);
      });

      it('leaves no English text untranslated', () => {
        const same = [...flat]
          .filter(([k, v]) => en.get(k) === v && /[a-z]{3}/i.test(v) && !SAME_EVERYWHERE.has(v))
          .filter(([k]) => !SAME_AS_ENGLISH[lang]?.includes(k))
          .map(([k, v]) => `${k}: ${v}`);
        expect(same).toEqual([]);
      });
    });
  }

  it('has a key in the English catalogue for every t() call in the dashboard source', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.tsx?$/.test(name)) files.push(p);
      }
    };
    walk(WEB);
    const used = new Set<string>();
    const prefixes = new Set<string>();
    for (const f of files) {
      const src = readFileSync(f, 'utf8');
      for (const m of src.matchAll(/\bt\(\s*'([^']+)'/g)) used.add(m[1] as string);
      // t(c.enabled ? 'a' : 'b'): both literals
      for (const m of src.matchAll(/\bt\(\s*[\w.?]+\s*\?\s*'([^']+)'\s*:\s*'([^']+)'/g)) {
        used.add(m[1] as string);
        used.add(m[2] as string);
      }
      for (const m of src.matchAll(/\bt\(\s*`([^`$]+)\$\{/g)) prefixes.add(m[1] as string);
    }
    expect(used.size).toBeGreaterThan(200);
    const missing = [...used].filter((k) => !enShape.has(k));
    const missingPrefixes = [...prefixes].filter((p) => ![...enShape.keys()].some((k) => k.startsWith(p)));
    expect({ missing, missingPrefixes }).toEqual({ missing: [], missingPrefixes: [] });
  });

  it('names delivery failures by codes the gateway really has, every delivery outcome among them', () => {
    const named = [...en.keys()].filter((k) => k.startsWith('errorCode.')).map((k) => k.slice(10));
    expect(named.filter((c) => !Object.hasOwn(ERRORS, c))).toEqual([]);
    const outcomes = Object.keys(ERRORS).slice(Object.keys(ERRORS).indexOf('unknown_subscriber'));
    expect(outcomes.filter((c) => !named.includes(c))).toEqual([]);
  });

  it("shows the gateway's own default STOP and START words in Settings, from the gateway", () => {
    // The words and replies live server-side (core/keywords.ts, src/i18n/); the page asks for
    // them instead of restating a list that would drift.
    const admin = readFileSync(join(WEB, 'pages', 'admin.tsx'), 'utf8');
    expect(admin).toContain("'/v1/settings/keywords'");
    for (const word of [...DEFAULT_STOP_WORDS, ...DEFAULT_START_WORDS]) {
      expect(admin).not.toContain(`'${word}'`);
    }
  });

  it('picks the remembered language, else the first browser language it speaks, else English', () => {
    expect(pickLanguage('fa', ['ru-RU'])).toBe('fa');
    expect(pickLanguage(null, ['ja-JP', 'zh-CN', 'en'])).toBe('zh');
    expect(pickLanguage('xx', ['de-AT'])).toBe('de');
    expect(pickLanguage(null, ['pt-BR'])).toBe('en');
    expect(pickLanguage(null, [])).toBe('en');
  });
});
