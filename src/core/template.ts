/**
 * Message templates (pure): named variables `{code}` in a fixed text, optional declared types
 * and lengths, rendering with a client's params, and the sender signature around the result.
 * Seed 003: the text must stay the approved one; variables fill in values (a code, an order
 * number), they do not replace the text, so every value is bounded.
 */
import { ApiError, say } from './errors.js';

export const TEMPLATE_CATEGORIES = ['verification', 'notification', 'marketing'] as const;
export type TemplateCategory = (typeof TEMPLATE_CATEGORIES)[number];

export const VARIABLE_TYPES = ['string', 'digits', 'number'] as const;
export type VariableType = (typeof VARIABLE_TYPES)[number];

export interface VariableSpec {
  type?: VariableType | undefined;
  max_length?: number | undefined;
}

/** A value longer than this is refused even when no max_length is declared. */
export const DEFAULT_MAX_VALUE = 64;
/** Variables per template: a template is a fixed text with a few blanks. */
export const MAX_VARIABLES = 20;

const VARIABLE = /\{([A-Za-z_][A-Za-z0-9_]{0,31})\}/g;

/** The variable names of a text, in order of first appearance. */
export function variablesOf(text: string): string[] {
  return [...new Set([...text.matchAll(VARIABLE)].map((m) => m[1] as string))];
}

/**
 * Checks a template's text against its declared variables: at most MAX_VARIABLES, every
 * declared one used in the text. Throws validation_failed with the field.
 */
export function checkTemplate(text: string, declared: Record<string, VariableSpec> | undefined): void {
  const names = variablesOf(text);
  if (names.length > MAX_VARIABLES) {
    throw new ApiError(
      'validation_failed',
      say('api.templates.maxVariables', { max: MAX_VARIABLES }),
      'text',
    );
  }
  for (const name of Object.keys(declared ?? {})) {
    if (!names.includes(name)) {
      throw new ApiError(
        'validation_failed',
        say('api.templates.declaredUnused', { name }),
        `variables.${name}`,
      );
    }
  }
}

/**
 * The text with every `{name}` replaced by its param. Every variable must be present
 * (missing_parameter), a string or a finite number, of its declared type and at most its
 * declared length (validation_failed); the field names the param.
 */
export function render(
  text: string,
  params: Record<string, unknown> | undefined,
  declared: Record<string, VariableSpec> | undefined,
): string {
  const { names, parts } = parsed(text);
  const values = new Map<string, string>();
  for (const name of names) {
    const field = `params.${name}`;
    const raw = params && Object.hasOwn(params, name) ? params[name] : undefined;
    if (raw === undefined || raw === null || raw === '') {
      throw new ApiError('missing_parameter', say('api.templates.needValue', { name }), field);
    }
    if (typeof raw !== 'string' && !(typeof raw === 'number' && Number.isFinite(raw))) {
      throw new ApiError('validation_failed', say('api.templates.stringOrNumber', { name }), field);
    }
    const value = String(raw);
    const spec = declared?.[name];
    const max = spec?.max_length ?? DEFAULT_MAX_VALUE;
    if (value.length > max) {
      throw new ApiError('validation_failed', say('api.templates.maxChars', { name, max }), field);
    }
    if (spec?.type === 'digits' && !/^\d+$/.test(value)) {
      throw new ApiError('validation_failed', say('api.templates.digitsOnly', { name }), field);
    }
    if (spec?.type === 'number' && !/^-?\d+(\.\d+)?$/.test(value)) {
      throw new ApiError('validation_failed', say('api.templates.mustNumber', { name }), field);
    }
    // A value must not open a variable of its own or break the text's line structure.
    if (/[{}\r\n]/.test(value)) {
      throw new ApiError('validation_failed', say('api.templates.noBraces', { name }), field);
    }
    values.set(name, value);
  }
  let out = parts[0] as string;
  for (let i = 1; i < parts.length; i += 2) out += `${values.get(parts[i] as string)}${parts[i + 1]}`;
  return out;
}

/** A text cut at its variables: literal, name, literal, …, literal; and the names, first use first. */
interface Parsed {
  names: string[];
  parts: string[];
}

/**
 * Texts parsed once: a template message renders the same approved text request after request,
 * and matching its variables anew (matchAll, a Set, replace with a callback) was most of the
 * 2.5–5 µs a template added to accepting a one-recipient request, 12–27 % of it (`SIZE=64 npx
 * tsx bench/policy-cpu.ts`, set "templates"). Bounded: cleared at 1,000 texts.
 */
const parsedTexts = new Map<string, Parsed>();

function parsed(text: string): Parsed {
  let p = parsedTexts.get(text);
  if (p) return p;
  const parts: string[] = [];
  let last = 0;
  for (const m of text.matchAll(VARIABLE)) {
    parts.push(text.slice(last, m.index), m[1] as string);
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  p = { names: variablesOf(text), parts };
  if (parsedTexts.size >= 1_000) parsedTexts.clear();
  parsedTexts.set(text, p);
  return p;
}

/** The rendered text with the signature before it or after it. */
export function sign(
  text: string,
  signature: { text: string; placement: 'prefix' | 'suffix' | null } | undefined,
): string {
  if (!signature) return text;
  if (signature.placement === 'suffix') return `${text}${spacer(signature.text, 'suffix')}${signature.text}`;
  return `${signature.text}${spacer(signature.text, 'prefix')}${text}`;
}

// Strings, not regex literals: see core/keywords.ts TRAILING_PUNCTUATION.
const CLOSES_BRACKET = new RegExp('[\\]】)）]$');
const OPENS_BRACKET = new RegExp('^[[【(（]');

/** `【Acme】` needs no space (the brackets separate it, as in seed 003); `Acme:` does. */
function spacer(signature: string, at: 'prefix' | 'suffix'): string {
  if (at === 'prefix') return CLOSES_BRACKET.test(signature) ? '' : ' ';
  return OPENS_BRACKET.test(signature) ? '' : ' ';
}
