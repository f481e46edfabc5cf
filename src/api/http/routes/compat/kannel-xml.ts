/**
 * Kannel's XML sendsms body (`text/xml`, `<message><submit>…</submit></message>`, user guide
 * "XML Post") read into the same variables as a GET. The parser is deliberately small and
 * closed: elements, text, CDATA, comments, the five predefined entities and character
 * references. A DOCTYPE without an internal subset (Kannel's example has one) is skipped and
 * never fetched; an internal subset, any entity declaration or any other entity reference is
 * refused, so there is nothing to expand (no external entities, no "billion laughs"). Depth and
 * element count are bounded. Pure.
 */
import type { KannelParams } from './kannel-params.js';

export class KannelXmlError extends Error {}

interface Element {
  name: string;
  children: Element[];
  text: string;
}

const MAX_DEPTH = 16;
const MAX_ELEMENTS = 2_000;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeDocument(bytes: Buffer): { doc: string; encoding: string | undefined } {
  const head = bytes.subarray(0, 200).toString('latin1');
  const encoding = /^(?:\uFEFF|\u00EF\u00BB\u00BF)?<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(
    head,
  )?.[1];
  const label = (encoding ?? 'utf-8').toLowerCase();
  let doc: string;
  try {
    doc =
      label === 'iso-8859-1' || label === 'latin1'
        ? bytes.toString('latin1')
        : new TextDecoder(label, { fatal: true }).decode(bytes);
  } catch {
    throw new KannelXmlError('XML document misformed (encoding), rejected');
  }
  return { doc: doc.replace(/^\uFEFF/, ''), encoding };
}

function unescape(s: string): string {
  return s.replace(/&([^;&\s]{0,12});/g, (_m, ref: string) => {
    if (ref.startsWith('#x') || ref.startsWith('#X')) return fromCode(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return fromCode(Number(ref.slice(1)));
    const v = PREDEFINED[ref];
    if (v === undefined) throw new KannelXmlError(`XML entity &${ref}; is not allowed, rejected`);
    return v;
  });
}

function fromCode(n: number): string {
  if (!Number.isInteger(n) || n <= 0 || n > 0x10ffff)
    throw new KannelXmlError('XML character reference misformed, rejected');
  return String.fromCodePoint(n);
}

/** The document's root element. */
export function parseXml(doc: string): Element {
  const root: Element = { name: '#document', children: [], text: '' };
  const stack: Element[] = [root];
  let count = 0;
  let i = 0;
  const fail = (what: string): never => {
    throw new KannelXmlError(`XML document misformed (${what}), rejected`);
  };
  while (i < doc.length) {
    const lt = doc.indexOf('<', i);
    const text = doc.slice(i, lt < 0 ? doc.length : lt);
    if (text.includes('&') || text.trim() !== '') {
      if (stack.length === 1) fail('text outside the root element');
      (stack[stack.length - 1] as Element).text += unescape(text);
    }
    if (lt < 0) break;
    if (doc.startsWith('<!--', lt)) {
      const end = doc.indexOf('-->', lt + 4);
      if (end < 0) fail('comment');
      i = end + 3;
    } else if (doc.startsWith('<![CDATA[', lt)) {
      const end = doc.indexOf(']]>', lt + 9);
      if (end < 0 || stack.length === 1) fail('CDATA');
      (stack[stack.length - 1] as Element).text += doc.slice(lt + 9, end);
      i = end + 3;
    } else if (doc.startsWith('<?', lt)) {
      const end = doc.indexOf('?>', lt + 2);
      if (end < 0) fail('processing instruction');
      i = end + 2;
    } else if (doc.startsWith('<!', lt)) {
      const end = doc.indexOf('>', lt);
      const decl = doc.slice(lt, end < 0 ? doc.length : end + 1);
      if (!/^<!DOCTYPE\s/i.test(decl) || stack.length > 1) fail('declaration');
      // An internal subset is where entities are declared: none are accepted.
      if (decl.includes('[') || /<!ENTITY/i.test(doc))
        throw new KannelXmlError(
          'XML with a DTD internal subset or entity declarations is refused, rejected',
        );
      i = end + 1;
    } else if (doc.startsWith('</', lt)) {
      const end = doc.indexOf('>', lt);
      if (end < 0) fail('end tag');
      const name = doc.slice(lt + 2, end).trim();
      const open = stack.pop();
      if (!open || open === root || open.name !== name) fail(`</${name}>`);
      i = end + 1;
    } else {
      const m = /^<([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(
        doc.slice(lt, lt + 4096),
      );
      if (!m) fail('tag');
      const [whole, name, , selfClosing] = m as RegExpExecArray;
      if (stack.length === 1 && root.children.length > 0) fail('two root elements');
      if (++count > MAX_ELEMENTS) fail('too many elements');
      const el: Element = { name: name as string, children: [], text: '' };
      (stack[stack.length - 1] as Element).children.push(el);
      if (!selfClosing) {
        stack.push(el);
        if (stack.length > MAX_DEPTH + 1) fail('nested too deep');
      }
      i = lt + whole.length;
    }
  }
  if (stack.length !== 1) fail('unclosed element');
  const top = root.children[0];
  if (!top) fail('no root element');
  return top as Element;
}

function all(el: Element | undefined, path: string[]): Element[] {
  if (!el) return [];
  if (path.length === 0) return [el];
  const [first, ...rest] = path;
  return el.children.filter((c) => c.name === first).flatMap((c) => all(c, rest));
}

/**
 * The variables of a Kannel XML submit, and the text's bytes: `<ud>` is hex when it reads as
 * hex and URL-encoded otherwise, as in Kannel (so `<ud>cafe</ud>` is two bytes, 0xCA 0xFE).
 */
export function parseKannelXml(bytes: Buffer): {
  params: KannelParams;
  text: Buffer | undefined;
  encoding: string | undefined;
} {
  const { doc, encoding } = decodeDocument(bytes);
  const root = parseXml(doc);
  if (root.name !== 'message') throw new KannelXmlError('XML document is not a Kannel <message>, rejected');
  const submit = all(root, ['submit'])[0];
  const params: KannelParams = new Map();
  const one = (name: string, path: string[]) => {
    const el = all(submit, path)[0];
    if (el && !params.has(name)) params.set(name, Buffer.from(el.text.trim(), 'utf8'));
  };
  one('username', ['from', 'username']);
  one('username', ['from', 'user']);
  one('password', ['from', 'password']);
  one('password', ['from', 'pass']);
  one('account', ['from', 'account']);
  one('from', ['oa', 'number']);
  one('udh', ['udh']);
  one('smsc', ['smsc']);
  one('pid', ['pid']);
  one('mclass', ['dcs', 'mclass']);
  one('coding', ['dcs', 'coding']);
  one('dlr-mask', ['statusrequest', 'dlr-mask']);
  one('dlr-url', ['statusrequest', 'dlr-url']);
  one('validity', ['vp', 'delay']);
  one('deferred', ['timing', 'delay']);
  one('priority', ['priority']);
  one('meta-data', ['meta-data']);
  const numbers = all(submit, ['da', 'number'])
    .map((n) => n.text.trim())
    .filter((n) => n !== '');
  if (all(submit, ['da']).length > 0) params.set('to', Buffer.from(numbers.join(' '), 'utf8'));
  const ud = all(submit, ['ud'])[0];
  let text: Buffer | undefined;
  let textEncoding = encoding;
  if (ud) {
    const raw = ud.text.trim();
    if (raw !== '' && /^(?:[0-9a-fA-F]{2})+$/.test(raw)) text = Buffer.from(raw, 'hex');
    else {
      // URL-decoded; the document was decoded to characters already, so the bytes are UTF-8.
      text = Buffer.from(decodeURIComponentLoose(raw), 'utf8');
      textEncoding = 'UTF-8';
    }
  }
  return { params, text, encoding: textEncoding };
}

function decodeURIComponentLoose(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s.replace(/\+/g, ' ');
  }
}
