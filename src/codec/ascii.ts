/**
 * Text made safe for fields that clients read as ASCII, such as the `text:` of a delivery
 * receipt (SMPP 3.4 Appendix B: the first 20 characters of the message, in the receipt's GSM or
 * ASCII short_message). A UCS-2 message's text there used to be its UTF-16 code units cut to
 * Latin-1 — garbage. Here: typographic characters become their GSM equivalents, accents are
 * dropped (é → e), Cyrillic and Greek are transliterated (Привет → Privet), and anything else
 * outside printable ASCII becomes `?`. Pure.
 */
import { transliterate } from './gsm7.js';

const CYRILLIC: Record<string, string> = {
  а: 'a',
  б: 'b',
  в: 'v',
  г: 'g',
  д: 'd',
  е: 'e',
  ё: 'e',
  ж: 'zh',
  з: 'z',
  и: 'i',
  й: 'i',
  к: 'k',
  л: 'l',
  м: 'm',
  н: 'n',
  о: 'o',
  п: 'p',
  р: 'r',
  с: 's',
  т: 't',
  у: 'u',
  ф: 'f',
  х: 'kh',
  ц: 'ts',
  ч: 'ch',
  ш: 'sh',
  щ: 'shch',
  ъ: '',
  ы: 'y',
  ь: '',
  э: 'e',
  ю: 'iu',
  я: 'ia',
  і: 'i',
  ї: 'i',
  є: 'ie',
  ґ: 'g',
  ў: 'u',
};

const GREEK: Record<string, string> = {
  α: 'a',
  β: 'v',
  γ: 'g',
  δ: 'd',
  ε: 'e',
  ζ: 'z',
  η: 'i',
  θ: 'th',
  ι: 'i',
  κ: 'k',
  λ: 'l',
  μ: 'm',
  ν: 'n',
  ξ: 'x',
  ο: 'o',
  π: 'p',
  ρ: 'r',
  σ: 's',
  ς: 's',
  τ: 't',
  υ: 'y',
  φ: 'f',
  χ: 'ch',
  ψ: 'ps',
  ω: 'o',
};

function latinOf(ch: string): string {
  const lower = ch.toLowerCase();
  const t = CYRILLIC[lower] ?? GREEK[lower];
  if (t === undefined) return '?';
  if (ch === lower || t === '') return t;
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** The first `max` characters of `text` (counted before transliteration), in printable ASCII. */
export function asciiPreview(text: string, max: number): string {
  let out = '';
  let n = 0;
  for (const raw of transliterate(text)) {
    if (n++ >= max) break;
    if (raw >= ' ' && raw <= '~') {
      out += raw;
      continue;
    }
    if (raw === '\n' || raw === '\r' || raw === '\t') {
      out += ' ';
      continue;
    }
    // é → e + combining accent → e
    const base = raw.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
    out += base.length > 0 && /^[ -~]+$/.test(base) ? base : latinOf(base.length > 0 ? base : raw);
  }
  return out;
}
