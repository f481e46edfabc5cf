/**
 * The CLI's language: `--lang xx` (anywhere on the command line), else LC_ALL, LC_MESSAGES, LANG
 * as POSIX tools read them ("ru_RU.UTF-8" → ru), else English. Read once at start, before the
 * commands are defined, so their help is in the language too. Sentences: src/i18n/locales/*.json
 * under "cli".
 */
import type { Lang } from '../i18n/index.js';
import { fromEnvironment, tr } from '../i18n/index.js';

/** The value of --lang in argv (`--lang ru` or `--lang=ru`), if any. */
export function langFlag(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') return undefined;
    if (a === '--lang') return argv[i + 1];
    if (a.startsWith('--lang=')) return a.slice('--lang='.length);
  }
  return undefined;
}

export const CLI_LANG: Lang = fromEnvironment(process.env, langFlag(process.argv.slice(2)));

/** A CLI sentence in the CLI's language. */
export function m(key: string, params?: Record<string, unknown>): string {
  return tr(CLI_LANG, `cli.${key}`, params);
}
