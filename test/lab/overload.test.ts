/**
 * Overload of the control socket, against the real daemon: 1,000 connections that never send
 * and a client that pipelines `status` without reading a reply. The daemon grows by at most
 * 50 MB, and a normal client still gets its answer within 1 s, during and after.
 * UPLINKD_OVERLOAD_S sets how long the pipelining client pushes (default 5 s; the report's
 * 15 s in the bench).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { labForTest, sleep } from '../../src/lab/harness.js';
import { startDaemon } from '../../src/lab/daemon.js';
import { rpc } from '../../src/control/client.js';

const UPLINKS = `uplinks:
  wan1: { interface: wan1, priority: 10 }
  wan2: { interface: wan2, mode: backup, priority: 20 }
`;

/** Opens `idle` silent connections and one pipelining `status` without ever reading; runs until killed. */
const ATTACKER = `
const net = require('node:net');
const [path, idle] = [process.argv[1], Number(process.argv[2])];
const keep = [];
for (let i = 0; i < idle; i++) { const s = net.createConnection(path); s.on('error', () => {}); keep.push(s); }
const req = '{"id":1,"method":"status"}\\n'.repeat(100);
let said = false;
// A unix socket's connect fails at once (EAGAIN) while the listen backlog is full of the idle
// ones: try again until the daemon has accepted enough (and again whenever it drops us).
const push = () => {
  const p = net.createConnection(path);
  p.on('error', () => setTimeout(push, 50));
  p.on('connect', () => { const go = () => { while (p.write(req)); }; p.on('drain', go); go(); if (!said) console.log('pushing'); said = true; });
};
push();
`;

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

async function timedStatus(socket: string): Promise<number> {
  const t0 = performance.now();
  await rpc(socket, 'status');
  return performance.now() - t0;
}

test('control overload: 1,000 silent connections and a non-reading pipeliner grow the daemon ≤ 50 MB; a normal client is answered within 1 s', async (t) => {
  const lab = await labForTest(t);
  const gw = await lab.ns('gw');
  const d = await startDaemon(lab, gw, UPLINKS);
  const pid = d.proc.pid!;
  await sleep(1000);
  const before = rssKb(pid);
  const attacker = gw.spawn(process.execPath, ['-e', ATTACKER, d.socket, '1000']);
  await attacker.waitForLine(/pushing/, { timeoutMs: 10_000 });
  const seconds = Number(process.env.UPLINKD_OVERLOAD_S ?? 5);
  let peak = before;
  let slowest = 0;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    peak = Math.max(peak, rssKb(pid));
    slowest = Math.max(slowest, await timedStatus(d.socket));
    await sleep(200);
  }
  const during = { peakGrowthMb: (peak - before) / 1024, slowestMs: Math.round(slowest) };
  await attacker.stop();
  await sleep(300);
  const after = await timedStatus(d.socket);
  t.diagnostic(JSON.stringify({ beforeMb: before / 1024, ...during, afterMs: Math.round(after) }));
  assert.ok(during.peakGrowthMb <= 50, `daemon grew by ${during.peakGrowthMb.toFixed(1)} MB`);
  assert.ok(during.slowestMs < 1000, `a normal status took ${during.slowestMs} ms under load`);
  assert.ok(after < 1000, `a normal status took ${after} ms after`);
  // Status reports the main thread's event-loop delay (what probing and failover wait behind).
  const loop = (await d.status()).daemon.eventLoop;
  assert.ok(loop.maxMs >= loop.p99Ms && loop.p99Ms > 0 && loop.windowS >= 0, JSON.stringify(loop));
});
