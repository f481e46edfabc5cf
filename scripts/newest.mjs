// The newest modification time under a path: the build scripts compare it with their last build.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((n) => newest(join(path, n))));
}
