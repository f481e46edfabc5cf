/**
 * A write refused by a concurrent change (a foreign key whose row was deleted between the check
 * and the write, a deadlock, a serialization failure) is a 409 the client can retry, never a 500.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { errorHandler } from '../../src/api/http/errors.js';

describe('database refusals from concurrent changes', () => {
  it.each([
    ['SQLITE_CONSTRAINT_FOREIGNKEY', 409],
    ['23503', 409],
    ['40P01', 409],
    ['40001', 409],
    ['SQLITE_IOERR', 500],
  ])('%s answers %i', async (code, status) => {
    const app = Fastify({ logger: false });
    app.setErrorHandler(errorHandler);
    app.get('/x', async () => {
      throw Object.assign(new Error('database said no'), { code });
    });
    const res = await app.inject({ method: 'GET', url: '/x' });
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({ error: { code: status === 409 ? 'conflict' : 'internal' } });
    await app.close();
  });
});
