/**
 * Secrets in channel configs may be references instead of values, so they never sit in the
 * database: "env:NAME" reads an environment variable, "file:/path" reads a file (a mounted
 * secret, an SSH key). References are resolved when the driver is built, in memory only.
 */
import { readFileSync } from 'node:fs';

export function resolveSecrets(value: unknown, env: NodeJS.ProcessEnv = process.env): unknown {
  if (typeof value === 'string') {
    if (value.startsWith('env:')) {
      const name = value.slice(4);
      const v = env[name];
      if (v === undefined)
        throw new Error(`environment variable ${name} (referenced by the channel config) is not set`);
      return v;
    }
    if (value.startsWith('file:')) {
      const path = value.slice(5);
      try {
        return readFileSync(path, 'utf8');
      } catch (err) {
        throw new Error(
          `cannot read ${path} (referenced by the channel config): ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
        );
      }
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => resolveSecrets(v, env));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveSecrets(v, env)]));
  }
  return value;
}
