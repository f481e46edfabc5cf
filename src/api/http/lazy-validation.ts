/**
 * Request validators compiled on a route's first request instead of at start. fastify compiles
 * every route's body, query, params and headers schemas with ajv when the server starts: some
 * 200 routes' generated functions held 12.5 MB of idle RSS (113.7 → 101.0 MB with no validators,
 * 2 runs), while a gateway under load uses a handful of routes. Same ajv, same options and shared
 * schemas (@fastify/ajv-compiler, what fastify uses by default); a route's schema is still checked
 * once, on its first request, and the function kept.
 *
 * fastify hands a compiler it did not build header schemas as written, without lower-casing
 * their property names (node gives header names in lower case): so one with a capital letter is
 * refused here, at start.
 */
import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

type BuildValidator = NonNullable<
  NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']
>;

interface Validate {
  (data: unknown): unknown;
  errors?: unknown;
}

/** What fastify passes a validator compiler (fastify/lib/validation.js). */
interface RouteSchema {
  schema: unknown;
  method: string;
  url: string;
  httpPart: string;
}

export function lazyValidators(): BuildValidator {
  const build = AjvCompiler();
  const factory = (
    externalSchemas: Parameters<BuildValidator>[0],
    ajvOptions: Parameters<BuildValidator>[1],
  ) => {
    const compile = build(externalSchemas, ajvOptions) as unknown as (route: RouteSchema) => Validate;
    return (route: RouteSchema): Validate => {
      if (route.httpPart === 'headers') refuseCapitalHeaders(route.schema, `${route.method} ${route.url}`);
      let fn: Validate | undefined;
      const lazy: Validate = (data) => {
        fn ??= compile(route);
        const ok = fn(data);
        // fastify reads the failure from the function it was given.
        lazy.errors = fn.errors;
        return ok;
      };
      return lazy;
    };
  };
  // The declared type has the compiler take a bare schema and return ajv's function; fastify
  // gives it the RouteSchema above and uses only the call and `.errors`.
  return factory as unknown as BuildValidator;
}

function refuseCapitalHeaders(schema: unknown, route: string): void {
  const properties = (schema as { properties?: Record<string, unknown> } | null)?.properties ?? {};
  for (const name of Object.keys(properties)) {
    if (name !== name.toLowerCase())
      throw new Error(`${route}: header schema names must be lower case: ${name}`);
  }
}
