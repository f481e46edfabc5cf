/**
 * The server's catalogues (src/i18n/locales/): every registered error code has its sentence in
 * every language, English word for word as the registry says; every language has exactly the
 * keys English has, each plural in the forms its Intl.PluralRules asks for, the placeholders
 * English has (an English-only `detail` from a parser aside), and no sentence left in English.
 * And the sources: no `new ApiError(` passes an English sentence of its own (a string or
 * template literal) instead of a catalogue key, and every key src names is in all six.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
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
/**
 * A `detail` (a library's English words, a per-recipient reason) may be left out of a translation
 * where the frame says enough without it (ajv's rule, a refused recipient); a library's message
 * behind a translated frame (JSON.parse, the XML and CSV parsers) is kept.
 */
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

/** Every .ts file under src, with its text. */
function sources(dir = join(import.meta.dirname, '../../src')): { file: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') ? [{ file: path, text: readFileSync(path, 'utf8') }] : [];
  });
}

/**
 * The arguments of the call whose `(` is at `open`, as source text, split at top-level commas
 * (strings, template literals, comments and nested brackets skipped).
 */
function callArgs(text: string, open: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "'" || c === '"' || c === '`') {
      for (i++; i < text.length && text[i] !== c; i++) {
        if (text[i] === '\\') i++;
        else if (c === '`' && text[i] === '$' && text[i + 1] === '{') {
          // ${…} may hold strings and backquotes of its own: skip to its closing brace.
          let d = 0;
          for (i++; i < text.length; i++) {
            if (text[i] === '{') d++;
            else if (text[i] === '}' && --d === 0) break;
          }
        }
      }
    } else if (c === '/' && text[i + 1] === '/') {
      i = text.indexOf('\n', i);
    } else if (c === '(' || c === '[' || c === '{') {
      depth++;
    } else if (c === ')' || c === ']' || c === '}') {
      if (--depth === 0) {
        args.push(text.slice(start, i).trim());
        return args;
      }
    } else if (c === ',' && depth === 1) {
      args.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  throw new Error(`unbalanced call at ${open}`);
}

/**
 * Whether a message argument can evaluate to a string literal: the literal itself, or one as a
 * branch of `?:`, `??` or `||` outside the `say(…)` calls (comparisons like
 * `t.status === 'rejected' ? say(…) : …` are fine).
 */
function literalMessage(arg: string): boolean {
  let rest = arg;
  for (let i = rest.indexOf('say('); i >= 0; i = rest.indexOf('say(')) {
    const inner = callArgs(rest, i + 3).join(',');
    rest = `${rest.slice(0, i)}SAY${rest.slice(i + 4 + inner.length + 1)}`;
  }
  return /(^|\?\?|\|\||\?|:)\s*['"`]/.test(rest);
}

function literalApiErrors(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/new ApiError\(/g)) {
    const args = callArgs(text, (m.index as number) + m[0].length - 1);
    const message = args[1];
    if (message !== undefined && literalMessage(message)) found.push(`${args[0]}, ${message}`);
  }
  return found;
}

const has = (lang: (typeof LANGS)[number], key: string) =>
  flat[lang].has(key) || flat[lang].has(`${key}_other`);

describe('sentences in the sources', () => {
  it('finds a literal message where there is one (the scan can fail)', () => {
    expect(literalApiErrors(`throw new ApiError('not_found', 'No such thing.', 'id');`)).toHaveLength(1);
    expect(
      literalApiErrors('throw new ApiError(\n  "conflict",\n  `At most ${max} (${f(")")}).`,\n);'),
    ).toHaveLength(1);
    expect(literalApiErrors(`new ApiError('x', ok ? say('a.b', { d: 'e' }) : 'English.')`)).toHaveLength(1);
    expect(literalApiErrors(`new ApiError('x', m ?? "fallback")`)).toHaveLength(1);
    expect(
      literalApiErrors(
        `new ApiError('x', s === 'rejected' ? say('a', { f: g('(') }) : say('b'), 'f'); new ApiError('y');` +
          ` new ApiError('z', undefined, 'f', { a: 'b' }); new ApiError('w', n.why, 'to')`,
      ),
    ).toEqual([]);
  });

  it('no new ApiError( in src passes an English sentence instead of a catalogue key', () => {
    const files = sources();
    const found = files.flatMap(({ file, text }) =>
      literalApiErrors(text).map((call) => `${file.slice(file.indexOf('src/'))}: ${call}`),
    );
    expect(found).toEqual([]);
    // The scan saw the throw sites (about 220 of them), not an empty tree.
    expect(
      files.reduce((n, { text }) => n + (text.match(/new ApiError\(/g)?.length ?? 0), 0),
    ).toBeGreaterThan(150);
  });

  it('every catalogue key src names is in all six catalogues', () => {
    const missing: string[] = [];
    let named = 0;
    for (const { file, text } of sources()) {
      const where = file.slice(file.indexOf('src/'));
      for (const m of text.matchAll(
        /['"]((?:api|phone|errors|cli|keywords)\.[A-Za-z0-9_.]*[A-Za-z0-9_])['"]/g,
      )) {
        named++;
        for (const lang of LANGS) if (!has(lang, m[1] as string)) missing.push(`${lang} ${m[1]} (${where})`);
      }
      // A key built at run time (`api.url.range.${key}`): its fixed part must start some key.
      for (const m of text.matchAll(/`((?:api|phone|errors|cli|keywords)\.[A-Za-z0-9_.]*)\$\{/g)) {
        for (const lang of LANGS) {
          if (![...flat[lang].keys()].some((k) => k.startsWith(m[1] as string)))
            missing.push(`${lang} ${m[1]}… (${where})`);
        }
      }
    }
    expect(named).toBeGreaterThan(150);
    expect(missing).toEqual([]);
  });
});
