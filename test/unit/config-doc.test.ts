/**
 * docs/config.md's key reference is the schema's: the block between the GENERATED markers is
 * what configReference() renders now, and every leaf key of the zod schema (walked here on its
 * own, not through the JSON Schema walker under test) has a row in it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { configSchema } from '../../src/config/schema.js';
import {
  configKeys,
  configReference,
  GENERATED_BEGIN,
  GENERATED_END,
  generatedBlock,
  NAME,
  spliceReference,
} from '../../src/config/doc.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const DOC = join(ROOT, 'docs/config.md');

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  getter?: () => z.ZodType;
}
const def = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Wrappers that do not change which keys sit below (optional, defaults, transforms). */
function unwrap(s: z.ZodType): z.ZodType {
  for (;;) {
    const d = def(s);
    if (d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else if (d.type === 'lazy' && d.getter) s = d.getter();
    else return s;
  }
}

function hasKeys(s: z.ZodType): boolean {
  const d = def(unwrap(s));
  if (d.type === 'object' || d.type === 'record') return true;
  if (d.type === 'array') return hasKeys(d.element!);
  if (d.type === 'union') return d.options!.some(hasKeys);
  return false;
}

/** Every key path below which no key sits: `uplinks.<name>.probe.interval`, `lan[].zone`. */
function leafPaths(s: z.ZodType, path = '', out = new Set<string>()): Set<string> {
  const d = def(unwrap(s));
  const join = (k: string) => (path ? `${path}.${k}` : k);
  switch (d.type) {
    case 'object':
      for (const [k, v] of Object.entries(d.shape!)) leafPaths(v, join(k), out);
      break;
    case 'record':
      leafPaths(d.valueType!, join(NAME), out);
      break;
    case 'array':
      if (hasKeys(d.element!)) leafPaths(d.element!, `${path}[]`, out);
      else out.add(path);
      break;
    case 'union':
      for (const o of d.options!) if (hasKeys(o)) leafPaths(o, path, out);
      if (!d.options!.every(hasKeys)) out.add(path);
      break;
    default:
      out.add(path);
  }
  return out;
}

test('docs/config.md holds the key reference the schema renders now', () => {
  const doc = readFileSync(DOC, 'utf8');
  const block = generatedBlock(doc);
  assert.ok(block !== undefined, `docs/config.md has no ${GENERATED_BEGIN} … ${GENERATED_END} block`);
  const want = configReference();
  if (block === want) return;
  const have = block.split('\n');
  const line = want.split('\n').findIndex((l, i) => l !== have[i]);
  assert.fail(
    `docs/config.md's key reference differs from the schema (first at its line ${line + 1}: ` +
      `${JSON.stringify(have[line] ?? '(end)')}): run \`npm run docs\``,
  );
});

test('every leaf key of the schema has a row in the reference', () => {
  const leaves = [...leafPaths(configSchema)];
  assert.ok(leaves.length > 100, `only ${leaves.length} leaves: the walk above is broken`);
  for (const want of ['control.http.listen', 'uplinks.<name>.probe.interval', 'lan[].zone', 'jobs.<name>.env.<name>'])
    assert.ok(leaves.includes(want), `the zod walk misses ${want}`);
  const rows = new Set(configKeys().map((k) => k.path));
  const doc = generatedBlock(readFileSync(DOC, 'utf8')) ?? '';
  const missing = leaves.filter((p) => !rows.has(p));
  assert.deepEqual(missing, [], `keys the reference skips: ${missing.join(', ')}`);
  const undocumented = leaves.filter((p) => !doc.includes(`| \`${p}\` |`));
  assert.deepEqual(
    undocumented,
    [],
    `keys missing from docs/config.md (run \`npm run docs\`): ${undocumented.join(', ')}`,
  );
});

test('the reference is deterministic and names each key once', () => {
  assert.equal(configReference(), configReference());
  const paths = configKeys().map((k) => k.path);
  assert.equal(new Set(paths).size, paths.length);
});

test('the walker follows $ref, allOf, oneOf, patternProperties and items, and stops at a cycle', () => {
  const schema = {
    $defs: {
      dur: {
        anyOf: [
          { type: 'string', pattern: '^(\\d+(ms|s|m|h|d))+$' },
          { type: 'number', const: 0 },
        ],
      },
      probe: { type: 'object', properties: { interval: { $ref: '#/$defs/dur', description: 'Between rounds.' } } },
      node: { type: 'object', properties: { next: { $ref: '#/$defs/node' } } },
    },
    type: 'object',
    properties: {
      a: { $ref: '#/$defs/probe', description: 'Probing.' },
      b: { oneOf: [{ type: 'object', properties: { x: { type: 'string' } } }, { type: 'string' }] },
      c: { type: 'object', patternProperties: { '^[a-z]+$': { type: 'integer', minimum: 1 } } },
      d: {
        type: 'array',
        items: {
          allOf: [
            { type: 'object', properties: { p: { type: 'boolean' } }, required: ['p'] },
            { properties: { q: { type: 'string', examples: ['hi'] }, w: { $ref: '#/$defs/dur', default: 600000 } } },
          ],
        },
      },
      e: { $ref: '#/$defs/node' },
    },
  };
  const keys = Object.fromEntries(configKeys(schema).map((k) => [k.path, k]));
  assert.deepEqual(Object.keys(keys), [
    'a',
    'a.interval',
    'b',
    'b.x',
    'c',
    'c.<name>',
    'd',
    'd[]',
    'd[].p',
    'd[].q',
    'd[].w',
    'e',
    'e.next',
  ]);
  assert.equal(keys.a!.description, 'Probing.');
  assert.equal(keys['a.interval']!.type, 'duration');
  assert.equal(keys['a.interval']!.description, 'Between rounds.');
  assert.equal(keys.b!.type, 'map or string');
  assert.equal(keys.c!.type, 'map of integer ≥ 1');
  assert.equal(keys.d!.type, 'list of maps');
  assert.equal(keys['d[].p']!.default, '**required**');
  assert.equal(keys['d[].q']!.example, '`q: hi`');
  assert.equal(keys['d[].w']!.default, '`10m`', 'a duration default in ms reads as written');
  assert.equal(keys['d[].w']!.example, '`w: 10m`');
  assert.equal(keys['e.next']!.type, 'like `e`');
});

test('the block is spliced between the markers, the rest of the file kept', () => {
  const doc = `# Title\n\nprose\n\n${GENERATED_BEGIN}\nold\n${GENERATED_END}\n\nmore prose\n`;
  const out = spliceReference(doc, 'new\n');
  assert.equal(out, `# Title\n\nprose\n\n${GENERATED_BEGIN}\nnew\n${GENERATED_END}\n\nmore prose\n`);
  assert.equal(generatedBlock(out), 'new\n');
  assert.throws(() => spliceReference('no markers', 'x'));
});
