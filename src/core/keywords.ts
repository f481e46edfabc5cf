/** Matching inbound texts to opt-out words and keyword rules. Pure. */
import safeRegex from 'safe-regex2';
import type { Lang, Sentence } from '../i18n/index.js';

export type KeywordKind = 'stop' | 'start' | 'help';

/**
 * The words subscribers send to opt out, back in, or for help, per language, as the operators
 * and regulators of each market print them in their messages (upper-cased; Persian with Persian
 * letters and ASCII digits, see normalizeWord):
 * - en: the CTIA / UK DMA set (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT; START, UNSTOP; HELP, INFO).
 * - ru: СТОП and ОТПИСКА/ОТПИСАТЬСЯ, the words Russian bulk senders print for refusal under the
 *   advertising law (38-ФЗ art. 18); СТАРТ/ПОДПИСКА back in; ПОМОЩЬ/СПРАВКА.
 * - zh: TD and T ("回TD退订", "回T退订", required in every marketing SMS by MIIT), 退订, 取消;
 *   订阅/恢复 back in; 帮助.
 * - it: BASTA, ANNULLA, CANCELLA, CANCELLAMI, DISISCRIVI (STOP itself is in the English set);
 *   ISCRIVI/RIATTIVA back in; AIUTO.
 * - fa: لغو and لغو11 ("لغو۱۱" ends Iranian advertising SMS), انصراف, توقف; عضویت/شروع back in; راهنما.
 * - de: STOPP, ABMELDEN, ABBESTELLEN (UWG §7 opt-out wording); ANMELDEN back in; HILFE.
 * With no words of the owner's own, every language's words count: an opt-out is never missed
 * because the subscriber wrote in another language than the sender.
 */
export const KEYWORDS: Record<Lang, Record<KeywordKind, readonly string[]>> = {
  en: {
    stop: ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT'],
    start: ['START', 'UNSTOP'],
    help: ['HELP', 'INFO'],
  },
  ru: { stop: ['СТОП', 'ОТПИСКА', 'ОТПИСАТЬСЯ'], start: ['СТАРТ', 'ПОДПИСКА'], help: ['ПОМОЩЬ', 'СПРАВКА'] },
  zh: { stop: ['TD', 'T', '退订', '取消'], start: ['订阅', '恢复'], help: ['帮助'] },
  it: {
    stop: ['BASTA', 'ANNULLA', 'CANCELLA', 'CANCELLAMI', 'DISISCRIVI'],
    start: ['ISCRIVI', 'RIATTIVA'],
    help: ['AIUTO'],
  },
  fa: { stop: ['لغو', 'لغو11', 'انصراف', 'توقف'], start: ['عضویت', 'شروع'], help: ['راهنما'] },
  de: { stop: ['STOPP', 'ABMELDEN', 'ABBESTELLEN'], start: ['ANMELDEN'], help: ['HILFE'] },
};

const ORDER: readonly Lang[] = ['en', 'ru', 'zh', 'it', 'fa', 'de'];

/** Every language's words of a kind (English first), the defaults when the owner set none. */
export function defaultWords(kind: KeywordKind): string[] {
  return [...new Set(ORDER.flatMap((l) => KEYWORDS[l][kind]))];
}

export const DEFAULT_STOP_WORDS = defaultWords('stop');
export const DEFAULT_START_WORDS = defaultWords('start');
export const HELP_WORDS = defaultWords('help');

/**
 * The language of a keyword, for the reply: the first language whose list has it, else by its
 * script (Cyrillic ru, Han zh, Arabic script fa), else English.
 */
export function keywordLanguage(word: string): Lang {
  const w = normalizeWord(word);
  for (const lang of ORDER) {
    for (const kind of ['stop', 'start', 'help'] as const) {
      if (KEYWORDS[lang][kind].includes(w)) return lang;
    }
  }
  if (/\p{Script=Cyrillic}/u.test(w)) return 'ru';
  if (/\p{Script=Han}/u.test(w)) return 'zh';
  if (/\p{Script=Arabic}/u.test(w)) return 'fa';
  return 'en';
}

/**
 * One spelling of a word: upper case; Arabic yeh and kaf as the Persian letters (phones with an
 * Arabic keyboard send ي and ك), Persian and Arabic-Indic digits as ASCII ("لغو۱۱" = "لغو11"),
 * no zero-width joiners.
 */
export function normalizeWord(word: string): string {
  return word
    .toUpperCase()
    .replace(/[\u200c\u200d]/g, '')
    .replace(/\u064a/g, '\u06cc')
    .replace(/\u0643/g, '\u06a9')
    .replace(/[\u06f0-\u06f9]/g, (d) => String(d.charCodeAt(0) - 0x06f0))
    .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x0660));
}

/**
 * People end a keyword with punctuation ("Stop.", "hours?", "退订。", "لغو؟"); it does not change
 * what they meant.
 */
/**
 * Trailing punctuation, Latin, CJK and Arabic.
 * A string, not a regex literal: the server bundle (scripts/build-server.mjs) escapes non-ASCII
 * characters in strings but not in regex literals, and one character above U+00FF anywhere in it
 * makes V8 hold the whole bundle's source two bytes a character (5 MB more heap).
 */
const TRAILING_PUNCTUATION = new RegExp('[.!?,;:。！？，；：、؟،؛]+$', 'u');

function bare(text: string): string {
  return text.trim().replace(TRAILING_PUNCTUATION, '').trim();
}

/** The single word a text consists of (opt-out words count only alone), normalised (normalizeWord). */
export function singleWord(text: string): string | undefined {
  const t = bare(text);
  return /^\S+$/u.test(t) ? normalizeWord(t) : undefined;
}

export interface Rule {
  match_type: 'exact' | 'prefix' | 'regex';
  pattern: string;
}

const MAX_REGEX_CHARS = 200;

/**
 * Refuses patterns that can backtrack catastrophically (user regexes run on every inbound text):
 * why, as a catalogue sentence (`api.delivery.pattern*`; the RegExp's own words as `detail`).
 */
export function checkPattern(rule: Rule): Sentence | undefined {
  if (rule.pattern.trim() === '') return { key: 'api.delivery.patternEmpty' };
  if (rule.match_type !== 'regex') return undefined;
  if (rule.pattern.length > MAX_REGEX_CHARS) {
    return { key: 'api.delivery.patternLong', params: { max: MAX_REGEX_CHARS } };
  }
  try {
    new RegExp(rule.pattern, 'i');
  } catch (err) {
    return { key: 'api.delivery.patternInvalid', params: { detail: (err as Error).message } };
  }
  if (!safeRegex(rule.pattern)) return { key: 'api.delivery.patternSlow' };
  return undefined;
}

/** Case-insensitive: exact is the whole text (trailing punctuation aside), prefix its first word(s). */
export function matches(rule: Rule, text: string): boolean {
  const t = text.trim();
  switch (rule.match_type) {
    case 'exact':
      return bare(t).toLowerCase() === bare(rule.pattern).toLowerCase();
    case 'prefix': {
      const p = rule.pattern.trim().toLowerCase();
      const lower = t.toLowerCase();
      return lower === p || lower.startsWith(`${p} `) || (lower.startsWith(p) && /\W/.test(p.slice(-1)));
    }
    case 'regex':
      return new RegExp(rule.pattern, 'i').test(t);
  }
}

/** Replaces {{from}}, {{to}}, {{text}} in an auto-reply. Unknown variables stay as written. */
export function render(template: string, vars: Record<string, string>): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (m, name: string) => vars[name] ?? m);
}
