/**
 * Request validators compiled on a route's first request (src/api/http/lazy-validation.ts): the
 * same answers as fastify's own compiler (coercion, the failure's errors), nothing compiled for a
 * route never asked, and header schemas that fastify would no longer lower-case refused at start.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { lazyValidators } from '../../src/api/http/lazy-validation.js';

/** A fastify app with two routes, counting the schemas its ajv compiles. */
function app() {
  const counted = { compiles: 0 };
  const f = Fastify({
    ajv: {
      customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false },
      onCreate: (ajv) => {
        const compile = ajv.compile.bind(ajv);
        ajv.compile = ((schema: object) => (counted.compiles++, compile(schema))) as typeof ajv.compile;
      },
    },
    schemaController: { compilersFactory: { buildValidator: lazyValidators() } },
  });
  f.addSchema({ $id: 'Count', type: 'integer', minimum: 1 });
  for (const path of ['/a', '/b']) {
    f.post(
      path,
      {
        schema: {
          body: {
            type: 'object',
            required: ['n'],
            properties: { n: { $ref: 'Count#' }, to: { type: 'array', items: { type: 'string' } } },
          },
        },
      },
      async (req) => req.body,
    );
  }
  return { f, counted };
}

describe('lazy validators', () => {
  it('validate as fastify does: coercion, shared schemas, and the failure with its errors', async () => {
    const { f } = app();
    const ok = await f.inject({ method: 'POST', url: '/a', payload: { n: '3', to: 'x' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ n: 3, to: ['x'] });
    const bad = await f.inject({ method: 'POST', url: '/a', payload: { n: 0 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'FST_ERR_VALIDATION', message: 'body/n must be >= 1' });
    // Again, from the kept function.
    const again = await f.inject({ method: 'POST', url: '/a', payload: {} });
    expect(again.json()).toMatchObject({ message: "body must have required property 'n'" });
    await f.close();
  });

  it('compile nothing at start, then a route once, on its first request', async () => {
    const { f, counted } = app();
    await f.ready();
    expect(counted.compiles).toBe(0);
    for (let i = 0; i < 3; i++) await f.inject({ method: 'POST', url: '/a', payload: { n: 1 } });
    expect(counted.compiles).toBe(1);
    await f.close();
  });

  it('refuses a header schema with a capital letter when the route is registered', async () => {
    const f = Fastify({ schemaController: { compilersFactory: { buildValidator: lazyValidators() } } });
    f.get(
      '/h',
      { schema: { headers: { type: 'object', properties: { 'Idempotency-Key': { type: 'string' } } } } },
      async () => 'ok',
    );
    await expect(f.ready()).rejects.toThrow(/header schema names must be lower case: Idempotency-Key/);
  });
});
