/**
 * The dashboard's languages: i18next with the translations bundled (no loading step), the language
 * chosen from the switcher (remembered in localStorage) or else the browser's languages. Dates and
 * numbers go through Intl in the same locale; plurals through i18next, which uses Intl.PluralRules.
 */
import i18next from 'i18next';
import de from './locales/de.json';
import en from './locales/en.json';
import fa from './locales/fa.json';
import it from './locales/it.json';
import ru from './locales/ru.json';
import zh from './locales/zh.json';
// The operators' pages (users, audit, nodes, keyword switches) keep their texts under "ops" in
// files of their own, so two people can add translations without editing the same file.
import opsDe from './locales/ops/de.json';
import opsEn from './locales/ops/en.json';
import opsFa from './locales/ops/fa.json';
import opsIt from './locales/ops/it.json';
import opsRu from './locales/ops/ru.json';
import opsZh from './locales/ops/zh.json';
import { withPolicy } from './locales/policy';
// Contacts, campaigns and the OTP log: one top-level section, "bulk", in files of their own.
import bulkDe from './locales/bulk/de.json';
import bulkEn from './locales/bulk/en.json';
import bulkFa from './locales/bulk/fa.json';
import bulkIt from './locales/bulk/it.json';
import bulkRu from './locales/bulk/ru.json';
import bulkZh from './locales/bulk/zh.json';
import type { Lang } from './languages';
import { RTL, isLang, pickLanguage } from './languages';

export { LANGUAGES, type Lang } from './languages';

const STORE_KEY = 'smsgw.lang';
/** The Intl locale of a language when the browser does not name a regional variant of it. */
const INTL: Record<Lang, string> = { en: 'en', ru: 'ru', zh: 'zh-CN', it: 'it', fa: 'fa', de: 'de' };

function stored(): string | null {
  try {
    return localStorage.getItem(STORE_KEY);
  } catch {
    return null; // storage disabled: the browser's language every time
  }
}

const browserLanguages = typeof navigator === 'undefined' ? [] : navigator.languages;

void i18next.init({
  resources: {
    en: { translation: withPolicy('en', { ...en, ...opsEn, ...bulkEn }) },
    ru: { translation: withPolicy('ru', { ...ru, ...opsRu, ...bulkRu }) },
    zh: { translation: withPolicy('zh', { ...zh, ...opsZh, ...bulkZh }) },
    it: { translation: withPolicy('it', { ...it, ...opsIt, ...bulkIt }) },
    fa: { translation: withPolicy('fa', { ...fa, ...opsFa, ...bulkFa }) },
    de: { translation: withPolicy('de', { ...de, ...opsDe, ...bulkDe }) },
  },
  lng: pickLanguage(stored(), browserLanguages),
  fallbackLng: 'en',
  initAsync: false,
  // Preact renders every string as text, so i18next must not HTML-escape it a second time.
  interpolation: { escapeValue: false },
  returnNull: false,
});

export const t = i18next.t.bind(i18next);

export function language(): Lang {
  const l = i18next.language;
  return isLang(l) ? l : 'en';
}

/** The locale for Intl: the browser's own tag when it is a variant of the chosen language (en-GB). */
export function locale(): string {
  const lang = language();
  return browserLanguages.find((tag) => tag.toLowerCase().split('-')[0] === lang) ?? INTL[lang];
}

export function isRtl(): boolean {
  return RTL.has(language());
}

/** Sets lang and dir on <html>, so the whole page (and the browser's own widgets) follow. */
export function applyToDocument(): void {
  document.documentElement.lang = locale();
  document.documentElement.dir = isRtl() ? 'rtl' : 'ltr';
}

export async function setLanguage(lang: Lang): Promise<void> {
  try {
    localStorage.setItem(STORE_KEY, lang);
  } catch {
    // not remembered, still switched
  }
  await i18next.changeLanguage(lang);
  applyToDocument();
}

export function onLanguageChanged(fn: () => void): () => void {
  i18next.on('languageChanged', fn);
  return () => i18next.off('languageChanged', fn);
}

export function fmtNumber(n: number, options?: Intl.NumberFormatOptions): string {
  return new Intl.NumberFormat(locale(), options).format(n);
}

export function fmtDateTime(
  iso: string | number | Date,
  options: Intl.DateTimeFormatOptions = { dateStyle: 'short', timeStyle: 'medium' },
): string {
  return new Intl.DateTimeFormat(locale(), options).format(new Date(iso));
}

/**
 * A phone number or code inside a translated sentence, isolated left to right (U+2066 … U+2069)
 * in a right-to-left language so "+98 912…" is not reordered; left as it is otherwise.
 */
export function ltr(s: string): string {
  return isRtl() ? `\u2066${s}\u2069` : s;
}
