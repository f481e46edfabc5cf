/** Matching inbound texts to opt-out words and keyword rules. Pure. */
import safeRegex from 'safe-regex2';

export const DEFAULT_STOP_WORDS = ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT'];
export const DEFAULT_START_WORDS = ['START', 'UNSTOP'];
export const HELP_WORDS = ['HELP', 'INFO'];

export const DEFAULT_REPLIES = {
  stop: 'You have been unsubscribed and will receive no more messages. Reply START to subscribe again.',
  start: 'You are subscribed again. Reply STOP to unsubscribe.',
  help: 'Reply STOP to unsubscribe, START to subscribe again.',
};

/** People end a keyword with punctuation ("Stop.", "hours?"); it does not change what they meant. */
function bare(text: string): string {
  return text
    .trim()
    .replace(/[.!?,;:]+$/, '')
    .trim();
}

/** The single word a text consists of (opt-out words count only alone), upper-cased. */
export function singleWord(text: string): string | undefined {
  const t = bare(text);
  return /^\S+$/.test(t) ? t.toUpperCase() : undefined;
}

export interface Rule {
  match_type: 'exact' | 'prefix' | 'regex';
  pattern: string;
}

/** Refuses patterns that can backtrack catastrophically (user regexes run on every inbound text). */
export function checkPattern(rule: Rule): string | undefined {
  if (rule.pattern.trim() === '') return 'The pattern is empty.';
  if (rule.match_type !== 'regex') return undefined;
  if (rule.pattern.length > 200) return 'A regex pattern may have at most 200 characters.';
  try {
    new RegExp(rule.pattern, 'i');
  } catch (err) {
    return `Not a valid regular expression: ${(err as Error).message}`;
  }
  if (!safeRegex(rule.pattern)) return 'This regular expression could take exponential time; simplify it.';
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
