// Bundles the two programs (uplinkd, uplink) that tsc built into dist/, each into one file in
// place of its entry point, so a start reads and compiles one file instead of ~300 modules.
// Measured on these machines: the daemon's module graph loads in 150 ms instead of 400 ms and
// holds ~10 MB less (no per-module records and sources). Everything else in dist/ (workers,
// tests, benches) stays as tsc wrote it; a dist/ built by plain `tsc` still runs, unbundled.
//
// Each bundled module keeps its own `import.meta.url` (rewritten to its path in dist/, relative
// to the bundle), so worker paths, package.json and web/ resolve as they do unbundled.
// koffi stays outside: it loads a native addon from its own directory.
import { readFile, rm } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRIES = ['dist/src/daemon/main.js', 'dist/src/cli/main.js'];

/** Replaces `import.meta.url` in each module with that module's own URL, relative to the bundle. */
const ownImportMetaUrl = (outDir) => ({
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.(m?js|cjs)$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const rel = relative(outDir, args.path).split('\\').join('/');
      const own = `new URL(${JSON.stringify(rel.startsWith('.') ? rel : `./${rel}`)}, import.meta.url).href`;
      return { contents: text.replaceAll('import.meta.url', own), loader: 'js' };
    });
  },
});

/**
 * Parts of dependencies the daemon never uses, left out: each would load Node modules (https,
 * zlib, cluster, tls, dns) and keep its source in memory for the life of the daemon.
 * - zod's translations of its messages (~300 KB of ~40 languages; the messages are English),
 * - prom-client's Pushgateway (https, zlib) and cluster aggregator (cluster, at load time).
 */
const UNUSED = [
  { from: /zod\/v4\/locales\/index\.js$/, contents: 'export { default as en } from "./en.js";', loader: 'js' },
  { from: /prom-client\/lib\/pushgateway\.js$/, contents: unbundled('Pushgateway'), loader: 'js' },
  { from: /prom-client\/lib\/cluster\.js$/, contents: unbundled('AggregatorRegistry'), loader: 'js' },
];
function unbundled(name) {
  return `module.exports = class ${name} { constructor() { throw new Error("uplinkd: prom-client's ${name} is left out of the bundle"); } };`;
}
const leaveOut = () => ({
  name: 'leave-out-unused',
  setup(b) {
    b.onLoad({ filter: /node_modules/ }, (args) => {
      const hit = UNUSED.find((u) => u.from.test(args.path.split('\\').join('/')));
      return hit ? { contents: hit.contents, loader: hit.loader, resolveDir: dirname(args.path) } : undefined;
    });
  },
});

// CommonJS dependencies (pino, prom-client, …) call require(): give the ESM bundle one.
const banner = 'import { createRequire as __uplinkdRequire } from "node:module";\nconst require = __uplinkdRequire(import.meta.url);';

for (const entry of ENTRIES) {
  const file = resolve(root, entry);
  const text = await readFile(file, 'utf8');
  if (text.includes('__uplinkdRequire')) continue; // already bundled: tsc did not rewrite it
  await build({
    entryPoints: [file],
    outfile: file,
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // koffi loads a native addon from its own directory; nodemailer is imported only when a mail
    // goes out, and bundled its imports (tls, dns, zlib, …) would load at every start.
    external: ['koffi', 'nodemailer'],
    // Whitespace and syntax only: names stay, so stack traces stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    banner: { js: banner },
    plugins: [leaveOut(), ownImportMetaUrl(dirname(file))],
    logLevel: 'warning',
  });
  await rm(`${file}.map`, { force: true }); // tsc's map is of the entry alone: wrong for the bundle
}
