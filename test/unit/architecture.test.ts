/**
 * The dependency rules bite: a small tree that breaks each rule, cruised with the project's
 * own .dependency-cruiser.cjs, must report exactly those rules. (`npm test` runs the same
 * rules over the real tree, in `npm run lint:deps`.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** file → its source; each `import` line is one edge. */
const TREE: Record<string, string> = {
  'src/system/linux.ts': 'export const real = 1;\n',
  'src/system/system.ts': 'export interface System { kind: string }\n',
  'src/daemon/controller.ts': 'export const run = 1;\n',
  'src/lab/harness.ts': 'export const lab = 1;\n',
  'src/uplinks/manager.ts': "import type { System } from '../system/system.js';\nexport type M = System;\n",
  // planners-import-no-system (and a value import: the-os-only-through-the-door)
  'src/routing/plan.ts': "import { real } from '../system/linux.js';\nexport const p = real;\n",
  // daemon-and-cli-are-roots
  'src/firewall/apply.ts': "import { run } from '../daemon/controller.js';\nexport const f = run;\n",
  // config-imports-no-feature
  'src/config/schema.ts': "import type { M } from '../uplinks/manager.js';\nexport type C = M;\n",
  // the-lab-is-a-tool
  'src/control/status.ts': "import { lab } from '../lab/harness.js';\nexport const s = lab;\n",
  // demand-does-not-import-firewall
  'src/demand/demand.ts': "import { f } from '../firewall/apply.js';\nexport const d = f;\n",
  // no-circular
  'src/world/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
  'src/world/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
};

test('the dependency rules report each forbidden edge in a tree built to break them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'uplinkd-arch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [file, text] of Object.entries(TREE)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
  );
  const bin = join(ROOT, 'node_modules/.bin/depcruise');
  const out = await promisify(execFile)(
    bin,
    ['src', '--config', join(ROOT, '.dependency-cruiser.cjs'), '--output-type', 'json'],
    { cwd: dir },
  ).catch((e: { stdout: string }) => ({ stdout: e.stdout }));
  const violations = (
    JSON.parse(out.stdout) as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } }
  ).summary.violations;
  const got = new Set(violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`));
  for (const want of [
    'planners-import-no-system: src/routing/plan.ts → src/system/linux.ts',
    'the-os-only-through-the-door: src/routing/plan.ts → src/system/linux.ts',
    'daemon-and-cli-are-roots: src/firewall/apply.ts → src/daemon/controller.ts',
    'config-imports-no-feature: src/config/schema.ts → src/uplinks/manager.ts',
    'the-lab-is-a-tool: src/control/status.ts → src/lab/harness.ts',
    'demand-does-not-import-firewall: src/demand/demand.ts → src/firewall/apply.ts',
    'no-circular: src/world/a.ts → src/world/b.ts',
  ]) {
    assert.ok(got.has(want), `missing: ${want}\ngot:\n${[...got].join('\n')}`);
  }
  assert.ok(
    ![...got].some((v) => v.includes('src/uplinks/manager.ts → src/system/system.ts')),
    'a type-only import of the System is allowed',
  );
});
