/**
 * What the OpenAPI document (/docs/json) says beyond each route's own schema (issue 18 item 4):
 * one shared error schema (`ApiError`, its codes taken from core/errors.ts), the 4xx answers of
 * every /v1 operation referencing it, and form bodies next to JSON ones.
 *
 * Response schemas document and test the answers; they do not shape them. fastify would
 * otherwise serialize with fast-json-stringify, which drops every property a schema does not
 * list and coerces types (a null where the schema says string becomes ""), so a schema one field
 * short would silently change what clients receive. The serializer stays JSON.stringify, as it
 * was before there were response schemas; the HTTP tests check answers against the document
 * instead (test/support/openapi.ts).
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import { Type } from 'typebox';
import type { Static } from 'typebox';
import type { ErrorCode } from '../../core/errors.js';
import { ERRORS } from '../../core/errors.js';

export const ERROR_SCHEMA_ID = 'ApiError';

const CODES = Object.keys(ERRORS) as ErrorCode[];

/** `{"error":{"code","message","field"}}`: the body of every 4xx and 5xx (errors.ts). */
export const ApiErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.Unsafe<ErrorCode>({
        type: 'string',
        enum: CODES,
        description: 'Stable machine-readable code (core/errors.ts); switch on this.',
      }),
      message: Type.String({ description: 'A sentence for people; may change between releases.' }),
      field: Type.Union([Type.String(), Type.Null()], {
        description: 'The request field at fault, or null when no one field is.',
      }),
      details: Type.Optional(
        Type.Object({}, { additionalProperties: true, description: 'Extra facts for some codes.' }),
      ),
    }),
  },
  {
    $id: ERROR_SCHEMA_ID,
    examples: [{ error: { code: 'validation_failed', message: 'The request is not valid.', field: 'to' } }],
  },
);
export type ApiErrorBody = Static<typeof ApiErrorSchema>;

/** The 4xx statuses every /v1 operation documents, each listing the registry's codes for it. */
const CLIENT_STATUSES = [400, 401, 403, 404, 409, 413, 415, 422, 429] as const;

function errorResponse(status: number) {
  const codes = CODES.filter((c) => ERRORS[c].status === status);
  return {
    description: `Error (codes with this status: ${codes.join(', ') || 'none'})`,
    $ref: `${ERROR_SCHEMA_ID}#`,
  };
}

/** The routes that answer with the shared error shape: the API and the dashboard's session. */
const API_PREFIXES = ['/v1/', '/auth/'];

/** fastify `onRoute` hook: error answers and form bodies for every /v1 and /auth operation. */
export function documentRoute(route: RouteOptions): void {
  if (!API_PREFIXES.some((p) => route.url.startsWith(p)) || !route.schema || route.schema.hide) return;
  const schema = route.schema as {
    body?: unknown;
    consumes?: string[];
    response?: Record<string | number, unknown>;
  };
  const response = { ...(schema.response ?? {}) };
  for (const status of CLIENT_STATUSES) response[status] ??= errorResponse(status);
  schema.response = response;
  // @fastify/formbody parses form bodies for every route: say so where a body is taken.
  if (schema.body !== undefined)
    schema.consumes ??= ['application/json', 'application/x-www-form-urlencoded'];
}

/** Registers the shared schema, the hook and the plain serializer; call before any route. */
export function registerOpenApi(app: FastifyInstance): void {
  app.addSchema(ApiErrorSchema);
  app.addHook('onRoute', documentRoute);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}

/** @fastify/swagger `refResolver`: shared schemas keep their $id as their name in components. */
export const refResolver = {
  buildLocalReference(json: { $id?: unknown }, _base: unknown, _fragment: unknown, i: number): string {
    return typeof json.$id === 'string' ? json.$id : `def-${i}`;
  },
};
