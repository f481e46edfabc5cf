/** The dashboard's languages and how one is picked; pure, so the unit tests import it too. */
export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'ru', name: 'Русский' },
  { code: 'zh', name: '简体中文' },
  { code: 'it', name: 'Italiano' },
  { code: 'fa', name: 'فارسی' },
  { code: 'de', name: 'Deutsch' },
] as const;
export type Lang = (typeof LANGUAGES)[number]['code'];

/** Written right to left. */
export const RTL: ReadonlySet<Lang> = new Set<Lang>(['fa']);

export const isLang = (s: string | null | undefined): s is Lang => LANGUAGES.some((l) => l.code === s);

/** The remembered choice, else the first browser language we speak (by its base: "ru-RU" → ru). */
export function pickLanguage(stored: string | null, browser: readonly string[]): Lang {
  if (isLang(stored)) return stored;
  for (const tag of browser) {
    const base = tag.toLowerCase().split('-')[0];
    if (isLang(base)) return base;
  }
  return 'en';
}
