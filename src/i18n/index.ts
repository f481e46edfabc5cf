/**
 * The server's languages: the API's human `message` sentences, the CLI's messages and the
 * default STOP/START/HELP replies in the dashboard's six languages, with i18next (the library the
 * dashboard already uses: one catalogue format, plurals by Intl.PluralRules, the same
 * `{{placeholder}}` syntax). Catalogues are bundled JSON, one per language (src/i18n/locales/),
 * loaded synchronously at import: no loading step, no I/O per request.
 */
import i18next, { type TFunction } from 'i18next';
import de from './locales/de.json' with { type: 'json' };
import en from './locales/en.json' with { type: 'json' };
import fa from './locales/fa.json' with { type: 'json' };
import it from './locales/it.json' with { type: 'json' };
import ru from './locales/ru.json' with { type: 'json' };
import zh from './locales/zh.json' with { type: 'json' };

export const LANGS = ['en', 'ru', 'zh', 'it', 'fa', 'de'] as const;
export type Lang = (typeof LANGS)[number];

export const CATALOGUES: Record<Lang, object> = { en, ru, zh, it, fa, de };

export const isLang = (s: string | null | undefined): s is Lang => LANGS.includes(s as Lang);

const i18n = i18next.createInstance();
void i18n.init({
  resources: Object.fromEntries(LANGS.map((l) => [l, { translation: CATALOGUES[l] }])),
  lng: 'en',
  fallbackLng: 'en',
  initAsync: false,
  // Sentences go into JSON bodies and terminals, never into HTML: nothing to escape.
  interpolation: { escapeValue: false },
  returnNull: false,
});

const fixed = new Map<Lang, TFunction>(LANGS.map((l) => [l, i18n.getFixedT(l)]));

/**
 * A sentence of the catalogue by its key, in a language (English when the key is missing there).
 * A parameter that is itself a Sentence (a part such as "in the body") is translated first.
 */
export function tr(lang: Lang, key: string, params?: Record<string, unknown>): string {
  const resolved: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params ?? {})) {
    resolved[k] = isSentence(v) ? tr(lang, v.key, v.params) : v;
  }
  return (fixed.get(lang) as TFunction)(key, resolved) as string;
}

function isSentence(v: unknown): v is Sentence {
  return typeof v === 'object' && v !== null && typeof (v as Sentence).key === 'string';
}

/** Whether the English catalogue has this key (for sentences built from data, e.g. error codes). */
export function hasKey(key: string): boolean {
  return i18n.exists(key, { lng: 'en', fallbackLng: false });
}

/**
 * The language an `Accept-Language` header prefers among ours: by q-value, then by order; a
 * regional tag counts for its base ("ru-RU" → ru, "zh-CN" → zh, "fa-IR" → fa); `*` and nothing
 * we speak give English. Malformed parts are skipped, never an error.
 */
export function fromAcceptLanguage(header: string | string[] | undefined): Lang {
  const raw = Array.isArray(header) ? header.join(',') : (header ?? '');
  const ranked: { lang: Lang; q: number; i: number }[] = [];
  raw.split(',').forEach((part, i) => {
    const [tag = '', ...params] = part.trim().split(';');
    let q = 1;
    for (const p of params) {
      if (!/^\s*q\s*=/i.test(p)) continue;
      const m = /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/i.exec(p);
      q = m ? Number(m[1]) : Number.NaN; // a malformed weight: the range is skipped
    }
    const base = tag.trim().toLowerCase().split('-')[0];
    if (isLang(base) && Number.isFinite(q) && q > 0) ranked.push({ lang: base, q, i });
  });
  ranked.sort((a, b) => b.q - a.q || a.i - b.i);
  return ranked[0]?.lang ?? 'en';
}

/**
 * The CLI's language: --lang, else the POSIX locale variables in their order of precedence
 * (LC_ALL, LC_MESSAGES, LANG; "ru_RU.UTF-8" → ru), else English. "C"/"POSIX" are English.
 */
export function fromEnvironment(env: NodeJS.ProcessEnv, flag?: string): Lang {
  if (flag !== undefined) {
    const base = flag.toLowerCase().split(/[-_.]/)[0];
    return isLang(base) ? base : 'en';
  }
  for (const name of ['LC_ALL', 'LC_MESSAGES', 'LANG'] as const) {
    const v = env[name];
    if (!v) continue;
    const base = v.toLowerCase().split(/[-_.@]/)[0];
    return isLang(base) ? base : 'en';
  }
  return 'en';
}

/** A catalogue sentence an error carries: rendered in English for logs, in the client's language on the wire. */
export interface Sentence {
  key: string;
  params?: Record<string, unknown>;
}
