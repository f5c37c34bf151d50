/**
 * What the daemon's bundle (scripts/bundle.mjs, run by `npm run build`) loads at every start.
 * Node modules that only some features need are loaded on first use (src/lazy.ts), and the
 * parts of dependencies it never uses are left out: each would cost an idle daemon memory and
 * start time for nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { UPLINKD } from '../../src/lab/daemon.js';

const LAZY = ['crypto', 'https', 'tls', 'dgram', 'dns', 'zlib', 'v8'];

test('the daemon bundle imports no feature-only Node module at start and leaves out unused dependency parts', () => {
  const text = readFileSync(UPLINKD, 'utf8');
  assert.ok(text.includes('__uplinkdRequire'), `${UPLINKD} is not the bundle: build with npm run build`);
  // esbuild hoists every static import of the bundle to its top: each one loads at start.
  const imported = new Set([...text.matchAll(/\bfrom\s*"(?:node:)?([a-z_/]+)"/g)].map((m) => m[1]!));
  const required = new Set([...text.matchAll(/\brequire\("(?:node:)?([a-z_/]+)"\)/g)].map((m) => m[1]!));
  for (const m of LAZY) {
    assert.ok(!imported.has(m), `node:${m} is imported statically`);
    assert.ok(!required.has(m), `node:${m} is required by bundled code (it may run at start)`);
  }
  assert.ok(imported.has('net') && imported.has('http'), 'the scan found the bundle’s imports');
  assert.match(text, /import\("nodemailer"\)/, 'nodemailer stays outside, imported when a mail goes out');
  assert.doesNotMatch(text, /SMTPConnection/, 'nodemailer is not bundled');
  assert.doesNotMatch(text, /Pushgateway\.prototype|gzipSync/, "prom-client's Pushgateway is not bundled");
  // zod's ~40 translations of its messages: one of them, by a phrase only it has.
  assert.doesNotMatch(text, /Ungültige Eingabe/, "zod's translations are not bundled");
});
