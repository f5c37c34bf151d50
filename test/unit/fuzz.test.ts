/**
 * Standing property tests (fast-check): random and mutated input to every parser a user or a
 * client can reach. Never a crash or a hang; always a coded error with a position, or a valid
 * result. Each test counts the inputs it tried. UPLINKD_FUZZ_SCALE multiplies the runs (the
 * CI size is 1; `npm run bench:fuzz` runs 20).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { checkConfigText } from '../../src/config/load.js';
import { parseRule, RuleError } from '../../src/config/demand-rules.js';
import { dispatch } from '../../src/control/rpc.js';
import { controlMethods, type ControlApi } from '../../src/control/methods.js';

const SCALE = Number(process.env.UPLINKD_FUZZ_SCALE ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
const EXAMPLE = readFileSync(fileURLToPath(new URL('../../../examples/full.yaml', import.meta.url)), 'utf8');

/** The check's contract: a config and no problems, or problems that each have a position and words. */
function checked(text: string): 'valid' | 'invalid' {
  const t0 = performance.now();
  const r = checkConfigText(text, 'fuzz.yaml');
  const ms = performance.now() - t0;
  assert.ok(ms < 2000, `check took ${ms} ms on ${JSON.stringify(text.slice(0, 200))}`);
  if (r.config) {
    assert.deepEqual(r.problems, []);
    return 'valid';
  }
  assert.ok(r.problems.length > 0, 'no config and no problem');
  for (const p of r.problems) {
    assert.ok(p.line >= 1 && p.column >= 1, `position ${p.line}:${p.column}`);
    assert.ok(p.message.length > 0 && !/undefined|\[object /.test(p.message), `message: ${p.message}`);
  }
  return 'invalid';
}

const yamlish = fc.stringMatching(/^[a-z0-9 :\-[\]{},"'&*!|>#\n.\\/@]{0,120}$/);

test('fuzz: the config loader on random YAML', () => {
  const seen = { valid: 0, invalid: 0 };
  fc.assert(
    fc.property(fc.oneof(yamlish, fc.string({ maxLength: 200 })), (text) => void seen[checked(text)]++),
    { numRuns: runs(2000) },
  );
  assert.equal(seen.valid + seen.invalid, runs(2000));
});

/** Edits of the full example as text: a cut, an insert, a line moved in or out. */
const textMutation = fc.tuple(
  fc.nat(),
  fc.nat(40),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('cut', 'insert', 'indent', 'dedent'),
);
function mutateText(text: string, [at, len, ins, kind]: [number, number, string, string]): string {
  const i = at % (text.length + 1);
  if (kind === 'cut') return text.slice(0, i) + text.slice(i + len);
  if (kind === 'insert') return text.slice(0, i) + ins + text.slice(i);
  const lines = text.split('\n');
  const l = at % lines.length;
  lines[l] = kind === 'indent' ? `  ${lines[l]}` : lines[l]!.replace(/^ {1,2}/, '');
  return lines.join('\n');
}

test('fuzz: the config loader on mutations of a valid config (text edits)', () => {
  const seen = { valid: 0, invalid: 0 };
  fc.assert(
    fc.property(fc.array(textMutation, { minLength: 1, maxLength: 3 }), (muts) => {
      seen[checked(muts.reduce(mutateText, EXAMPLE))]++;
    }),
    { numRuns: runs(1500) },
  );
  assert.ok(seen.invalid > 0 && seen.valid + seen.invalid === runs(1500), JSON.stringify(seen));
});

/** Values from every type the schema uses, and their near misses. */
const value = fc.oneof(
  fc.integer({ min: -5, max: 70_000 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    '5s',
    '0',
    '1d',
    '365d',
    '366d',
    'eth0',
    'tcp',
    '192.0.2.1',
    '10.0.0.0/8',
    '::1',
    'always',
    'demand',
    '',
  ),
  fc.string({ maxLength: 20 }),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 2 }),
);

/** Every path into an object (maps and lists). */
function paths(o: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (o === null || typeof o !== 'object') return [at];
  const keys = Array.isArray(o) ? o.map((_, i) => i) : Object.keys(o);
  return [at, ...keys.flatMap((k) => paths((o as Record<string | number, unknown>)[k], [...at, k]))];
}

test('fuzz: the config loader on mutations of a valid config (values at random keys)', () => {
  const base = parse(EXAMPLE) as Record<string, unknown>;
  const all = paths(base).filter((p) => p.length > 0);
  const seen = { valid: 0, invalid: 0 };
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(all.length - 1), value, fc.boolean()), { minLength: 1, maxLength: 4 }),
      (edits) => {
        const cfg = structuredClone(base);
        for (const [i, v, drop] of edits) {
          const p = all[i]!;
          const parent = p.slice(0, -1).reduce<unknown>((o, k) => (o as Record<string | number, unknown>)?.[k], cfg);
          if (parent === null || typeof parent !== 'object') continue;
          if (drop) delete (parent as Record<string | number, unknown>)[p[p.length - 1]!];
          else (parent as Record<string | number, unknown>)[p[p.length - 1]!] = v;
        }
        seen[checked(stringify(cfg))]++;
      },
    ),
    { numRuns: runs(1500) },
  );
  assert.ok(seen.invalid > 0 && seen.valid + seen.invalid === runs(1500), JSON.stringify(seen));
});

const WORDS = [
  'accept',
  'bringup',
  'keepup',
  'ignore',
  'tcp',
  'udp',
  'icmp',
  'any',
  'syn',
  'port',
  'host',
  'from',
  'to',
  '80',
  '8000-8100',
  '10.0.0.0/8',
  '192.0.2.1',
  '30s',
  '5 sec',
  '1d',
  '-',
  'not',
];

test('fuzz: the demand rule parser: a rule, or a RuleError with a column inside the text', () => {
  let tried = 0;
  const words = fc
    .array(fc.oneof(fc.constantFrom(...WORDS), fc.string({ maxLength: 6 })), { maxLength: 7 })
    .map((w) => w.join(' '));
  fc.assert(
    fc.property(fc.oneof(words, fc.string({ maxLength: 60 })), (text) => {
      tried++;
      try {
        const r = parseRule(text);
        assert.ok(['accept', 'bringup', 'keepup', 'ignore'].includes(r.action));
      } catch (e) {
        assert.ok(e instanceof RuleError, `not a RuleError: ${e}`);
        assert.ok(
          e.column >= 1 && e.column <= Math.max(1, text.length + 1),
          `column ${e.column} in ${JSON.stringify(text)}`,
        );
        assert.ok(e.message.length > 0);
      }
    }),
    { numRuns: runs(5000) },
  );
  assert.equal(tried, runs(5000));
});

const api: ControlApi = {
  status: () => ({}) as never,
  reload: async () => ({ changed: false, message: 'config unchanged' }),
  apply: async () => ({}),
  confirm: async () => ({ message: 'confirmed' }),
  rollback: async () => ({ message: 'rolled back' }),
  quit: () => undefined,
  plan: async () => ({}),
  admin: async (a, n) => ({ message: `${a} ${n}` }),
  unforce: async () => ({ message: 'unforced' }),
  demand: async (n) => ({ message: n }),
  job: async (a, n) => ({ message: `${a} ${n}` }),
  subscribe: () => () => undefined,
  history: () => [],
  login: () => ({ url: 'http://127.0.0.1:8377/login?code=x', expiresInS: 300 }),
  memory: () => ({ rssMb: 1, heapUsedMb: 1, heapDataMb: 1, gcForced: false }),
};
const CODES = new Set(['RPC_BAD_JSON', 'RPC_BAD_REQUEST', 'RPC_UNKNOWN_METHOD', 'RPC_BAD_PARAMS']);

test('fuzz: control-protocol lines and params: always one coded reply, never a throw', async () => {
  const table = controlMethods(api);
  const names = [...Object.keys(table).filter((n) => n !== 'quit'), 'nope', '__proto__', 'constructor'];
  const request = fc.record({
    id: fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.constant(null), fc.constant({})),
    method: fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 8 }), fc.integer()),
    params: fc.oneof(
      fc.constant(undefined),
      fc.object({ maxDepth: 2 }),
      fc.anything({ maxDepth: 1 }),
      fc.record({ name: fc.string({ maxLength: 6 }) }),
    ),
  });
  const line = fc.oneof(
    request.map((r) => JSON.stringify(r)),
    fc.string({ maxLength: 80 }),
    fc.json({ maxDepth: 2 }),
  );
  let tried = 0;
  await fc.assert(
    fc.asyncProperty(line, async (l) => {
      tried++;
      const reply = await dispatch(table, l, { push: () => undefined, onClose: () => undefined });
      if (reply.ok) return;
      assert.ok(CODES.has(reply.error.code) || /^[A-Z_]+$/.test(reply.error.code), `code ${reply.error.code}`);
      assert.notEqual(reply.error.code, 'RPC_INTERNAL', `a bug for ${l}: ${reply.error.message}`);
    }),
    { numRuns: runs(3000) },
  );
  assert.equal(tried, runs(3000));
});
