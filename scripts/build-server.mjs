// Builds the server (src/ → dist/) when a source is newer than the last build, so `npm start`
// runs plain JavaScript: one bundle (esbuild) of our modules and the libraries they use, entry
// dist/cli/main.js, with the modules imported lazily (SMTP face, PostgreSQL notifier, simulators)
// split into chunks beside it that load only when imported. One file instead of ~200 of ours and
// ~700 of node_modules: idle RSS 127 → 121 MB and the start's high-water mark 150 → 130 MB
// (docs/benchmarks.md "Idle cost"). Types are checked by `npm run typecheck`, not here.
// A stale dist/ is removed first, so no file of an older build survives. `--outdir DIR` builds
// into DIR instead (the tests' build of the sources under test, test/support/global-setup.ts).
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newest } from './newest.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outArg = process.argv.indexOf('--outdir');
const outdir = outArg === -1 ? join(root, 'dist') : process.argv[outArg + 1];
const stamp = join(outdir, '.built');

const sources = Math.max(
  newest(join(root, 'src')),
  newest(join(root, 'tsconfig.json')),
  newest(join(root, 'package-lock.json')),
  newest(fileURLToPath(import.meta.url)),
);
const force = process.argv.includes('--force');
if (!force && existsSync(stamp) && statSync(stamp).mtimeMs >= sources) process.exit(0);

/**
 * Left to node_modules, loaded by node as before:
 *  - better-sqlite3: a native addon, found by `bindings` from its own folder;
 *  - @fastify/swagger, @fastify/swagger-ui: read files beside themselves (`__dirname`: the UI's
 *    static assets and logo, swagger's own package.json);
 *  - pg, ssh2, smtp-server, mailparser, serialport: imported only when used (docs/architecture.md,
 *    "Loaded only when used"); outside the bundle their `import()` stays a lazy load from
 *    node_modules, and serialport and ssh2 carry native addons.
 * Bundled libraries must not find files by `__dirname`: pino would for a transport (a worker
 * file), and the gateway gives it none.
 */
const EXTERNAL = [
  'better-sqlite3',
  '@fastify/swagger',
  '@fastify/swagger-ui',
  'pg',
  'ssh2',
  'smtp-server',
  'mailparser',
  'serialport',
];

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // A production install without dev dependencies: run the build that shipped, if any.
  if (existsSync(join(outdir, 'cli', 'main.js'))) {
    console.warn('smsgw: esbuild is not installed; running the existing build in dist/.');
    process.exit(0);
  }
  console.error('smsgw: no build in dist/ and no esbuild to make one: run npm install, then npm start.');
  process.exit(1);
}
rmSync(outdir, { recursive: true, force: true });
await esbuild.build({
  absWorkingDir: root,
  entryPoints: { 'cli/main': 'src/cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.18',
  external: EXTERNAL,
  // CommonJS libraries in an ES module bundle call `require` for node's own modules.
  banner: {
    js: "import { createRequire as __smsgwCreateRequire } from 'node:module'; const require = __smsgwCreateRequire(import.meta.url);",
  },
  // No keepNames: it wraps every function and class in a naming call, +3.5 MB idle RSS (3 pairs,
  // 125 vs 121.4 MB). What it would keep is a name renamed on collision (two bundled `class
  // CsvError` become CsvError and CsvError2): nothing in src compares a class's `.name`, only a
  // logged error's `type` may read CsvError2.
  // Whitespace and comments dropped (names kept, so stack traces still name their functions; the
  // .map files beside map a line:column back): the source text V8 keeps of the bundle is 3.5 MB
  // instead of 5.3, and one-byte, where libraries' comments (undici's `request’s`) had made all
  // of it two bytes a character. Idle RSS 121.3 -> 114.3 MB (3 pairs).
  minifyWhitespace: true,
  sourcemap: true,
  logLevel: 'warning',
});

// V8 keeps a script's source one byte a character only if every character is ≤ U+00FF. esbuild
// escapes the others in strings, not in regex literals: write such a pattern as a string
// (`new RegExp('…')`, core/keywords.ts). Said here, and checked by test/cli/bundle.test.ts.
for (const file of readdirSync(outdir, { recursive: true })) {
  if (!String(file).endsWith('.js')) continue;
  const text = readFileSync(join(outdir, String(file)), 'utf8');
  const at = text.search(/[\u0100-\u{10ffff}]/u);
  if (at !== -1) {
    console.warn(
      `smsgw: dist/${file} holds a character above U+00FF (${JSON.stringify(text.slice(Math.max(0, at - 40), at + 20))}): V8 will keep its whole source two bytes a character`,
    );
  }
}
writeFileSync(stamp, `${new Date().toISOString()}\n`);
console.log(`smsgw: server bundled into ${outdir}`);
