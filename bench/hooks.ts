/**
 * bench/hooks: time from the netlink link event of an uplink's carrier loss to its `down`
 * hook's exec. The ISP side of wan1 goes admin-down (gw's wan1 loses carrier; the kernel
 * announces it over netlink); the hook writes its start time. The peer in the same run: the
 * same hook started by a shell loop reading `ip -ts monitor link` in the gateway's namespace
 * (the classic if-down replacement); the time ip monitor stamps on the event's line is t0 for
 * both. Wall clock in ns (UTC). Goal: p99 ≤ 10 ms.
 * Prints one JSON line. Usage: node dist/bench/hooks.js [TRIALS]
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileLines } from '../src/lab/files.js';
import { join } from 'node:path';
import { Lab, sleep, waitFor } from '../src/lab/harness.js';
import { startDaemon, type RunningDaemon } from '../src/lab/daemon.js';
import { twoUplinkTopology } from '../src/lab/topology.js';
import { twoUplinkConfig } from '../test/lab/uplinks-lab.js';

const GOAL_P99_MS = 10;

const stamps = (file: string): bigint[] => fileLines(file).map(BigInt);
/** ip -ts stamps ("[2026-12-02T15:20:01.123456]", UTC) as ns since the epoch. */
const seenAt = (file: string): bigint[] =>
  fileLines(file).map((l) => {
    const m = /\[(.+)\.(\d{6})\]/.exec(l)!;
    return BigInt(Date.parse(`${m[1]}Z`)) * 1_000_000n + BigInt(m[2]!) * 1000n;
  });
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const round = (x: number) => Math.round(x * 100) / 100;

async function wan1Up(d: RunningDaemon) {
  await waitFor(async () => (await d.status()).uplinks.find((u) => u.name === 'wan1')?.state === 'up', {
    timeoutMs: 20_000,
    intervalMs: 20,
    what: 'wan1 up',
  });
}

async function main() {
  const trials = Number(process.argv[2] ?? 200);
  const lab = await Lab.create();
  try {
    const topo = await twoUplinkTopology(lab);
    const base = lab.tempFile('bench-hooks', '');
    const dir = join(base, '..', 'hooks.d');
    mkdirSync(dir, { mode: 0o755 });
    const ours = join(base, '..', 'ours');
    const peer = join(base, '..', 'peer');
    const hook = join(dir, '10-stamp');
    writeFileSync(
      hook,
      `#!/bin/sh\n[ "$UPLINK $EVENT" = "wan1 down" ] && date +%s%N >> "\${STAMP_FILE:-${ours}}"\nexit 0\n`,
    );
    chmodSync(hook, 0o755);
    // The peer: ip monitor's line for wan1 without carrier runs the same hook; the line's own
    // timestamp (when ip monitor read the event) goes to a file first.
    const seen = join(base, '..', 'seen');
    const loop = `ip -ts monitor link dev wan1 | while read -r ts line; do case "$line" in *NO-CARRIER*) UPLINK=wan1 EVENT=down STAMP_FILE=${peer} ${hook}; echo "$ts" >> ${seen} ;; esac; done`;
    const monitor = topo.gw.spawn('sh', ['-c', loop], { env: { ...process.env, TZ: 'UTC' } });
    const d = await startDaemon(lab, topo.gw, twoUplinkConfig({ extra: `hooks: { dir: ${dir}, timeout: 5s }\n` }));
    const oursMs: number[] = [];
    const peerMs: number[] = [];
    for (let i = 0; i < trials; i++) {
      await wan1Up(d);
      await sleep(50);
      const [o, p] = [stamps(ours).length, stamps(peer).length];
      await topo.isp1.ip(['link', 'set', 'dev', 'down', 'down']);
      await waitFor(async () => stamps(ours).length > o && stamps(peer).length > p && seenAt(seen).length > p, {
        timeoutMs: 10_000,
        intervalMs: 5,
        what: 'both hooks ran',
      });
      const t0 = seenAt(seen)[p]!;
      oursMs.push(Number(stamps(ours)[o]! - t0) / 1e6);
      peerMs.push(Number(stamps(peer)[p]! - t0) / 1e6);
      await topo.carrierUp('isp1');
    }
    monitor.kill();
    const ours99 = pct(oursMs, 99);
    console.log(
      JSON.stringify({
        bench: 'hooks',
        trials,
        event: 'carrier loss on wan1 → its down hook exec',
        ours_p50_ms: round(pct(oursMs, 50)),
        ours_p99_ms: round(ours99),
        ours_max_ms: round(Math.max(...oursMs)),
        peer_ip_monitor_p50_ms: round(pct(peerMs, 50)),
        peer_ip_monitor_p99_ms: round(pct(peerMs, 99)),
        goal_p99_ms: GOAL_P99_MS,
        ok: ours99 <= GOAL_P99_MS,
      }),
    );
    await d.cli(['quit']);
  } finally {
    await lab.teardown();
  }
}

if (process.argv[1]?.endsWith('hooks.js')) await main();
