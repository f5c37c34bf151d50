/** The state file across upgrades: today's format is read by this daemon; an unknown one is refused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadState, STATE_VERSION } from '../../src/uplinks/persist.js';
import { MemoryStore } from '../../src/system/store.js';
import { parseConfigText } from '../../src/config/load.js';
import { Controller } from '../../src/daemon/controller.js';
import { kernelWithTwoUplinks } from './fixtures.js';
import { isUplinkError } from '../../src/errors.js';

const fixture = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url)), 'utf8');
const PATH = '/fake/state/state.json';

/** A daemon on the fake System with one uplink (the state file is what it reads and writes). */
const daemon = (system: ReturnType<typeof kernelWithTwoUplinks>) =>
  new Controller({
    configPath: 'x.yaml',
    config: parseConfigText(
      'control: { state_dir: /fake/state, socket: /fake/uplinkd.sock }\nuplinks:\n  wan1: { interface: wan1, gateway: 198.51.100.1 }\n',
      'x.yaml',
    ),
    system,
    log: pino({ level: 'silent' }),
  });

async function stored(text: string) {
  const store = new MemoryStore();
  await store.write(PATH, text);
  return store;
}

test('state file: version 1 (written by uplinkd 0.1) is read into the current format, every field kept', async () => {
  const v1 = JSON.parse(fixture('state-v1.json'));
  const s = await loadState(await stored(fixture('state-v1.json')), PATH);
  assert.equal(s?.version, STATE_VERSION);
  assert.equal(s?.forced, 'wan2');
  assert.deepEqual(s?.uplinks, v1.uplinks);
  assert.equal(s?.uplinks.dsl?.adminBlocked, true);
});

test('state file: a version from a newer daemon is refused with a hint, not misread', async () => {
  const newer = JSON.stringify({
    ...JSON.parse(fixture('state-v1.json')),
    version: STATE_VERSION + 1,
    writtenBy: '9.0.0',
  });
  await assert.rejects(
    loadState(await stored(newer), PATH),
    (e: unknown) =>
      isUplinkError(e) && e.code === 'STATE_VERSION' && /9\.0\.0/.test(e.message) && /move .* away/.test(e.hint ?? ''),
  );
  // The daemon does not start on it.
  const system = kernelWithTwoUplinks();
  await system.store.write(PATH, newer);
  const ctl = daemon(system);
  await assert.rejects(ctl.start(), (e: unknown) => isUplinkError(e) && e.code === 'STATE_VERSION');
});

test('state file: none, or not JSON, starts without it', async () => {
  assert.equal(await loadState(new MemoryStore(), PATH), undefined);
  assert.equal(await loadState(await stored('{"version": 2, "upl'), PATH), undefined);
});

test('state file: what this daemon writes carries the version and its writer', async () => {
  const system = kernelWithTwoUplinks();
  const ctl = daemon(system);
  await ctl.start();
  await ctl.stop('test');
  const s = JSON.parse(system.store.files.get(PATH) ?? '{}');
  assert.equal(s.version, STATE_VERSION);
  assert.match(s.writtenBy, /^\d+\.\d+\.\d+/);
});
