/** The language menu: each language named in itself, the choice remembered by the browser. */
import { LANGUAGES, language, setLanguage, t } from './i18n';
import type { Lang } from './i18n';

export function LanguageSwitcher({ className }: { className?: string }) {
  return (
    <label class={`lang ${className ?? ''}`}>
      <span class="sr-only">{t('common.language')}</span>
      <select
        name="language"
        aria-label={t('common.language')}
        value={language()}
        onChange={(e) => void setLanguage(e.currentTarget.value as Lang)}
      >
        {LANGUAGES.map((l) => (
          <option key={l.code} value={l.code} lang={l.code}>
            {l.name}
          </option>
        ))}
      </select>
    </label>
  );
}
