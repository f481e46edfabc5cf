/**
 * XML for the native API (seed 004): request bodies in `application/xml` / `text/xml` become the
 * same object a JSON or form body gives (so the route's schema checks them unchanged), and
 * `/v1/` answers are XML when the client's Accept prefers it. The schema is in README ("XML").
 *
 * Parsing is fast-xml-parser with the attack surface closed: a DOCTYPE (and with it every
 * entity declaration, external or internal) is refused before parsing, so only XML's five
 * predefined entities and character references exist and nothing can expand; nesting beyond
 * MAX_DEPTH, bodies over BODY_LIMIT and elements beyond MAX_ELEMENTS are refused.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { ApiError, say } from '../../core/errors.js';

/** The request document: a send of 1,000 numbers is ~40 KiB; 1 MiB is generous. */
const BODY_LIMIT = 1024 * 1024;
/** `<message><to>` is depth 2; nothing the API takes is deeper than 4. */
const MAX_DEPTH = 8;
const MAX_ELEMENTS = 200_000;

const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  trimValues: true,
  // References are decoded below (decodeRefs): the five predefined and character references.
  processEntities: false,
  htmlEntities: false,
  maxNestedTags: MAX_DEPTH,
});

const builder = new XMLBuilder({ format: false, suppressEmptyNode: false, ignoreAttributes: true });

/** Any DOCTYPE or entity declaration, whatever its case or spacing. */
const DTD = /<!\s*(DOCTYPE|ENTITY)/i;

/** The document as the request object, or an ApiError with a code (never a 500). */
export function parseXmlBody(text: string): Record<string, unknown> {
  if (DTD.test(text)) throw new ApiError('xml_dtd_forbidden', say('api.xml.dtd'));
  const valid = XMLValidator.validate(text);
  if (valid !== true)
    throw new ApiError(
      'invalid_xml',
      say('api.xml.notWellFormed', { detail: valid.err.msg, line: valid.err.line }),
    );
  let doc: unknown;
  try {
    doc = parser.parse(text);
  } catch (err) {
    throw new ApiError('invalid_xml', say('api.xml.unreadable', { detail: (err as Error).message }));
  }
  const roots = Object.entries(doc as Record<string, unknown>);
  if (roots.length !== 1) throw new ApiError('invalid_xml', say('api.xml.oneRoot'));
  const [, root] = roots[0] as [string, unknown];
  if (root === '' || root === undefined) return {};
  if (typeof root !== 'object' || root === null || Array.isArray(root))
    throw new ApiError('invalid_xml', say('api.xml.fieldsAsElements'));
  let count = 0;
  const walk = (v: unknown, depth: number): unknown => {
    if (++count > MAX_ELEMENTS)
      throw new ApiError('invalid_xml', say('api.xml.maxElements', { max: MAX_ELEMENTS }));
    if (depth > MAX_DEPTH) throw new ApiError('invalid_xml', say('api.xml.maxDepth', { max: MAX_DEPTH }));
    if (typeof v === 'string') return decodeRefs(v);
    if (Array.isArray(v)) return v.map((x) => walk(x, depth));
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, depth + 1);
      return out;
    }
    return v;
  };
  return walk(root, 1) as Record<string, unknown>;
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** The five predefined entities and character references; any other reference is refused. */
function decodeRefs(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&([^;&\s]{0,16});?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) throw new ApiError('invalid_xml', say('api.xml.bareAmp'));
    const hex = /^#x([0-9a-fA-F]{1,6})$/.exec(ref);
    const dec = /^#([0-9]{1,7})$/.exec(ref);
    const code = hex ? parseInt(hex[1] as string, 16) : dec ? Number(dec[1]) : undefined;
    if (code !== undefined) {
      if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
        throw new ApiError('invalid_xml', say('api.xml.notCharacter', { ref }));
      return String.fromCodePoint(code);
    }
    const v = PREDEFINED[ref];
    if (v === undefined) throw new ApiError('invalid_xml', say('api.xml.undeclaredEntity', { ref }));
    return v;
  });
}

/** How much the client wants a media type (its Accept q-value; 0 when not acceptable). */
function quality(accept: string, types: string[]): { explicit: number; wildcard: number } {
  let explicit = -1;
  let wildcard = -1;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.trim().toLowerCase().split(';');
    const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qp ? Number(qp.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    if (types.includes(type.trim())) explicit = Math.max(explicit, q);
    else if (type.trim() === '*/*' || type.trim() === 'application/*') wildcard = Math.max(wildcard, q);
  }
  return { explicit, wildcard };
}

/** True when Accept names XML with a higher q than JSON (or JSON not at all); a bare wildcard is JSON. */
export function wantsXml(accept: string | undefined): boolean {
  if (!accept) return false;
  const xml = quality(accept, ['application/xml', 'text/xml']).explicit;
  if (xml <= 0) return false;
  return xml > quality(accept, ['application/json']).explicit;
}

/** Names XML allows: a key that is not one (a number, a space) becomes `_`-escaped. */
function xmlName(key: string): string {
  const safe = key.replace(/[^A-Za-z0-9_.-]/g, '_');
  return /^[A-Za-z_]/.test(safe) ? safe : `_${safe}`;
}

function toXmlValue(v: unknown): unknown {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(toXmlValue);
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[xmlName(k)] = toXmlValue(x);
    return out;
  }
  return v;
}

/** A JSON answer as `<response>…</response>`: a list is its element repeated, null an empty one. */
export function toXml(value: unknown): string {
  const body = Array.isArray(value) ? { item: value } : value;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ response: toXmlValue(body) }) as string}`;
}

/** Registers the XML body parser and the XML answers on the API (`/v1/` routes). */
export function registerXml(app: FastifyInstance): void {
  app.addContentTypeParser(
    ['application/xml', 'text/xml'],
    { parseAs: 'string', bodyLimit: BODY_LIMIT },
    (_req: FastifyRequest, body: string | Buffer, done: (err: Error | null, value?: unknown) => void) => {
      try {
        done(null, parseXmlBody(typeof body === 'string' ? body : body.toString('utf8')));
      } catch (err) {
        done(err as Error);
      }
    },
  );
  app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (!req.url.startsWith('/v1/') || !wantsXml(req.headers.accept)) return payload;
    const type = String(reply.getHeader('content-type') ?? '');
    if (!type.startsWith('application/json') || typeof payload !== 'string') return payload;
    reply.header('content-type', 'application/xml; charset=utf-8');
    return toXml(JSON.parse(payload));
  });
}
