/**
 * The SMS text of an e-mail: its subject, its plain-text body, or both (SMSGW_SMTP_TEXT_FROM).
 * The body is what a person wrote: the signature (from the `-- ` line, RFC 3676 4.3) and
 * quoted replies (`>` lines, the "On … wrote:" line before them, Outlook's "Original Message"
 * block and everything after it) are dropped, trailing spaces and runs of blank lines folded,
 * because every character costs on an SMS. HTML bodies arrive here already converted to text
 * by mailparser. Pure.
 */
import type { SmtpTextFrom } from '../../config.js';

/**
 * An attribution line as mail clients write it ("On Mon, 1 Jan 2026, Ann <a@b> wrote:"). Patterns
 * with Cyrillic are strings (not regex literals, not String.raw): see core/keywords.ts TRAILING_PUNCTUATION.
 */
const ATTRIBUTION = new RegExp(
  '^(on\\s.{1,300}\\swrote:|.{1,300}\\s(schrieb|a écrit|написал\\(а\\)|написал|escribió)\\s?.{0,200}:)\\s*$',
  'i',
);
/** Outlook and others begin the quoted original with such a line; nothing after it is new. */
const ORIGINAL = new RegExp(
  '^(-{2,}\\s*(original message|forwarded message|исходное сообщение|ursprüngliche nachricht)\\s*-{2,}|_{10,})\\s*$',
  'i',
);

export function stripBody(body: string): string {
  const lines = body.replace(/\r\n?/g, '\n').split('\n');
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    // The signature separator is "-- " (with the space); clients that trim lines leave "--".
    if (line === '-- ' || line === '--') break;
    if (ORIGINAL.test(line.trim())) break;
    if (/^\s*>/.test(line)) continue;
    // An attribution line, possibly wrapped onto the next one by the client ("… <ann@\nb> wrote:").
    if (ATTRIBUTION.test(line.trim())) continue;
    const next = lines[i + 1];
    if (
      next !== undefined &&
      /^on\s/i.test(line.trim()) &&
      ATTRIBUTION.test(`${line.trim()} ${next.trim()}`)
    ) {
      i++;
      continue;
    }
    kept.push(line.replace(/[ \t]+$/, ''));
  }
  return kept
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** The text to send, or '' when the mail has none where the gateway looks. */
export function smsText(
  mail: { subject?: string | undefined; text?: string | undefined },
  from: SmtpTextFrom,
): string {
  const subject = (mail.subject ?? '').replace(/\s+/g, ' ').trim();
  const body = stripBody(mail.text ?? '');
  if (from === 'subject') return subject;
  if (from === 'body') return body;
  return [subject, body].filter((s) => s !== '').join('\n');
}
