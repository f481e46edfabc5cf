/** The one error shape every 4xx answers with: `{"error":{"code","message","field"}}`. */
import { expect } from 'vitest';

export function isErrorShape(body: unknown): boolean {
  if (!body || typeof body !== 'object') return false;
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'error') return false;
  const e = (body as { error: Record<string, unknown> }).error;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.code === 'string' &&
    typeof e.message === 'string' &&
    (e.field === null || typeof e.field === 'string')
  );
}

export function expectErrorShape(body: any, code?: string, field?: string | null): void {
  expect(isErrorShape(body), JSON.stringify(body)).toBe(true);
  if (code !== undefined) expect(body.error.code).toBe(code);
  if (field !== undefined) expect(body.error.field).toBe(field);
}
