/** Big pure work in the offload worker: the same answers as on the main thread, and the main thread stays free. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfigFile } from '../../src/config/load.js';
import { firewallInput } from '../../src/firewall/input.js';
import { renderRuleset } from '../../src/firewall/render.js';
import { Offload } from '../../src/offload/pool.js';

const bigConfig = (n: number) =>
  `uplinks:\n  wan1: { interface: wan1 }\nlan:\n  - { interface: lan0, zone: lan }\nforwards:\n${Array.from(
    { length: n },
    (_, k) => `  - { proto: tcp, port: ${1000 + k}, to: "10.1.${k >> 8}.${k & 255}:80" }`,
  ).join('\n')}\n`;

test("offload: a config parsed in the worker equals the main thread's; a bad one is the same ConfigError", async (t) => {
  const o = new Offload();
  t.after(() => o.close());
  for (const f of ['examples/full.yaml', 'examples/lab.yaml']) {
    assert.ok(isDeepStrictEqual(await o.loadConfig(f), await loadConfigFile(f)), f);
  }
  const dir = mkdtempSync(join(tmpdir(), 'uplinkd-offload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'uplinks:\n  wan1: { interface: wan1, prio: 3 }\n');
  const mine = await loadConfigFile(bad).catch((e: unknown) => e);
  const theirs = await o.loadConfig(bad).catch((e: unknown) => e);
  assert.ok(theirs instanceof ConfigError && mine instanceof ConfigError);
  assert.deepEqual(theirs.problems, mine.problems);
  assert.equal(theirs.message, mine.message);
  await assert.rejects(o.loadConfig(join(dir, 'missing.yaml')), (e: { code?: string }) => e.code === 'CONFIG_READ');
});

test("offload: a ruleset rendered in the worker is the main thread's, as JSON text", async (t) => {
  const o = new Offload();
  t.after(() => o.close());
  const cfg = await loadConfigFile('examples/full.yaml');
  const input = firewallInput(cfg, 3, ['198.51.100.2']);
  assert.equal(await o.renderRuleset(input), JSON.stringify(renderRuleset(input)));
});

test('offload: the main thread keeps running while the worker validates a big config', async (t) => {
  const o = new Offload();
  t.after(() => o.close());
  const dir = mkdtempSync(join(tmpdir(), 'uplinkd-offload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'big.yaml');
  writeFileSync(file, bigConfig(8000));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const t0 = Date.now();
  const cfg = await o.loadConfig(file);
  const took = Date.now() - t0;
  clearInterval(timer);
  assert.equal(cfg.forwards.length, 8000);
  // On the main thread the parse would take all of `took` with no tick at all.
  assert.ok(ticks >= Math.floor(took / 10) / 2, `${ticks} ticks of 10 ms in ${took} ms`);
});
