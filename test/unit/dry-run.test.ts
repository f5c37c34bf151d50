/**
 * The dry-run door on its own: a connect command is not run, the state file is not written,
 * ops are echoed to the world as if applied and logged once, sysctls and rulesets stay
 * untouched. (test/lab/dry-run.test.ts runs the whole daemon this way in a namespace.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { KernelEvent } from '../../src/model/kernel.js';
import { DryRunSystem } from '../../src/system/dry-run.js';
import type { KernelWatch } from '../../src/system/kernel.js';

function dryRun(watch?: KernelWatch) {
  const lines: { msg: string; command?: string; file?: string }[] = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  return { system: new DryRunSystem(log, watch && (() => watch)), lines };
}

const FILTER = { protocol: 201, tableBase: 7300, tableCount: 100, rulePriorityBase: 7300, rulePriorityCount: 100 };

test('dry-run: a connect command that creates a file is not run; the state file is not written; both are logged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'uplinkd-dry-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { system, lines } = dryRun();
  const marker = join(dir, 'dialed');
  const p = system.spawn({ command: `touch ${marker}`, logFile: join(dir, 'dsl.connect.log') });
  assert.equal(p.running, true, 'it "runs" until the daemon would stop it');
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(!existsSync(marker), 'the command did not run');
  assert.ok(!existsSync(join(dir, 'dsl.connect.log')), 'not even its log file was opened');
  await p.stop();
  assert.equal(p.running, false);
  const state = join(dir, 'state.json');
  await system.store.write(state, '{"version":1,"uplinks":{}}');
  await system.store.write(state, '{"version":1,"uplinks":{"a":{}}}');
  assert.ok(!existsSync(state), 'no state file');
  assert.equal(
    await system.store.read(state),
    '{"version":1,"uplinks":{"a":{}}}',
    'the daemon reads back what it would have written',
  );
  assert.ok(lines.some((l) => l.msg === 'dry-run: would run' && l.command === `touch ${marker}`));
  assert.equal(lines.filter((l) => l.msg === 'dry-run: would write this state file').length, 1, 'logged once');
  assert.equal(system.adopt(process.pid, {}), undefined, 'nothing is adopted (it could be signalled)');
});

test('dry-run: kernel ops are echoed to the world as if applied, and logged once; a sysctl is not written', async () => {
  const seen: KernelEvent[] = [];
  const real: KernelWatch = {
    start: async (sink) =>
      sink.reset(
        {
          links: [{ index: 7, name: 'wan1', up: true, carrier: true, operstate: 'up', mtu: 1500 }],
          addrs: [],
          routes: [],
          rules: [],
        },
        'dump',
      ),
    stop: async () => undefined,
    stats: () => ({ messages: 0, overruns: 0, resyncs: 0 }),
  };
  const { system, lines } = dryRun(real);
  await system
    .kernelWatch(FILTER)
    .start({ reset: () => undefined, apply: (e) => void seen.push(...e), foreign: () => undefined });
  const route = {
    family: 4 as const,
    table: 7300,
    protocol: 201,
    type: 'unicast' as const,
    dst: '0.0.0.0',
    dstLen: 0,
    gateway: '198.51.100.1',
    dev: 'wan1',
    metric: 100,
  };
  await system.apply([{ op: 'add', route }]);
  assert.equal(seen.length, 1);
  assert.equal(
    seen[0]!.kind === 'route' && seen[0]!.route.oif,
    7,
    'the echoed route is on wan1, as the kernel would say',
  );
  assert.deepEqual(
    lines.filter((l) => l.msg === 'dry-run: would run').map((l) => l.command),
    ['ip -4 route add 0.0.0.0/0 via 198.51.100.1 dev wan1 table 7300 proto 201 metric 100'],
  );
  // ip_forward exists in every namespace; dry-run must report it, not write it, and only once.
  const key = 'net/ipv4/ip_forward';
  const { readFileSync } = await import('node:fs');
  const before = readFileSync(`/proc/sys/${key}`, 'utf8').trim();
  const other = before === '1' ? '0' : '1';
  assert.equal(await system.sysctl(key, other), false);
  assert.equal(await system.sysctl(key, other), false);
  assert.equal(readFileSync(`/proc/sys/${key}`, 'utf8').trim(), before, 'untouched');
  assert.equal(lines.filter((l) => l.command === `sysctl -w net.ipv4.ip_forward=${other}`).length, 1, 'logged once');
  // nft: nothing spawned; what would be applied is what `nft list` shows from now on.
  await system.nft({ nftables: [{ add: { table: { family: 'inet', name: 'uplinkd' } } }] });
  assert.equal((await system.nftList())?.nftables.length, 1);
});
