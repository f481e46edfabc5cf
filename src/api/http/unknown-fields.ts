/**
 * Unknown fields are refused, not ignored: `{"sender": "ACME"}` (the field is `from`) used to
 * send the message without its sender id. Every object schema of a /v1 body or query string
 * that does not say otherwise gets `additionalProperties: false`; the error handler answers
 * 400 `unknown_field` with the field's name (errors.ts). The compatible faces (Kannel, Jasmin,
 * the seed API) keep ignoring what they do not know, as the originals do.
 */
import type { RouteOptions } from 'fastify';

const STRICT_PREFIX = '/v1/';

type Schema = Record<string | symbol, unknown>;

function closed(schema: unknown): unknown {
  if (!schema || typeof schema !== 'object') return schema;
  const s = schema as Schema;
  if (s.type !== 'object' || 'additionalProperties' in s || 'patternProperties' in s) return schema;
  // A copy: TypeBox schemas are shared between routes (and between body and query string).
  return { ...s, additionalProperties: false };
}

/** fastify `onRoute` hook. */
export function refuseUnknownFields(route: RouteOptions): void {
  if (!route.url.startsWith(STRICT_PREFIX) || !route.schema) return;
  const schema = route.schema as { body?: unknown; querystring?: unknown };
  if (schema.body !== undefined) schema.body = closed(schema.body);
  if (schema.querystring !== undefined) schema.querystring = closed(schema.querystring);
}
