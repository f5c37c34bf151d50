/**
 * bench/failover: 20 trials each of a blackholed primary (carrier stays up) and
 * a primary that loses carrier, fast profile. Two 1 ms UDP streams run all the
 * time: one from the gateway itself (its source address says which uplink the
 * kernel chose: the route switch) and one from the LAN client (DNATed to another
 * port by the backup ISP: the first LAN packet through the backup). The fault
 * time is the last packet that still came through the primary: the gap in the
 * stream is what users live through, and it leaves out the time this process
 * needs to spawn the command that makes the fault. Times are CLOCK_MONOTONIC
 * (process.hrtime) in every process, so they compare across namespaces. The peer
 * run is the kernel alone (uplinkd's carrier fast path off): what
 * ignore_routes_with_linkdown gives when linkwatch announces the carrier loss.
 * Prints one JSON line. Usage: node dist/bench/failover.js [TRIALS] [PROFILE (fast)]
 */
import { Lab, sleep, waitFor } from '../src/lab/harness.js';
import { startDaemon } from '../src/lab/daemon.js';
import { twoUplinkTopology, GW_WAN1, GW_WAN2, LAN_NET, SERVER } from '../src/lab/topology.js';
import { twoUplinkConfig } from '../test/lab/uplinks-lab.js';

const RECEIVER = `
const dgram = require('node:dgram');
const last = {};
const lastT = {};
for (const port of [5000, 5001]) {
  const s = dgram.createSocket('udp4');
  s.on('message', (_m, r) => {
    const stream = r.address.startsWith('10.') ? 'lan' : 'gw';
    const value = stream === 'lan' ? String(port) : r.address;
    const t = process.hrtime.bigint();
    if (last[stream] !== value) { last[stream] = value; console.log(JSON.stringify({ stream, value, t: String(t), prev: String(lastT[stream] ?? t) })); }
    lastT[stream] = t;
  });
  s.bind(port, '${SERVER}');
}`;
const SENDER = `
const s = require('node:dgram').createSocket('udp4');
setInterval(() => s.send('x', 5000, '${SERVER}', () => {}), 1);`;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? +s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)].toFixed(1) : null;
};

type Fault = 'blackhole' | 'carrier';
/** Silent death → traffic on the backup, p99 (issue goals: instant BFD-class, fast under 1 s). */
const BLACKHOLE_GOAL_MS: Record<string, number> = { instant: 250, fast: 1000 };
type Seen = { stream: string; value: string; t: bigint; prev: bigint };
type Gaps = { route: number[]; lan: number[] };
type Topo = Awaited<ReturnType<typeof twoUplinkTopology>>;

const add = (g: Gaps, r: { route: number; lan: number }) => (g.route.push(r.route), g.lan.push(r.lan));

/** One fault: wait until both streams use the primary, break it, measure both gaps, repair it. */
async function trial(topo: Topo, kind: Fault, seen: Seen[], onPrimary: () => boolean) {
  await waitFor(onPrimary, { timeoutMs: 15_000, what: 'both streams on the primary' });
  await sleep(300 + Math.random() * 200); // fault at a random point of the probe cycle
  const from = seen.length;
  await (kind === 'blackhole' ? topo.blackhole('isp1') : topo.carrierDown('isp1'));
  const moved = await waitFor(
    () => {
      const gw = seen.slice(from).find((e) => e.stream === 'gw' && e.value === GW_WAN2);
      const lan = seen.slice(from).find((e) => e.stream === 'lan' && e.value === '5001');
      return gw && lan && { gw, lan };
    },
    { timeoutMs: 10_000, what: `${kind}: both streams on the backup` },
  );
  await (kind === 'blackhole' ? topo.unblackhole('isp1') : topo.carrierUp('isp1'));
  return { route: Number(moved.gw.t - moved.gw.prev) / 1e6, lan: Number(moved.lan.t - moved.lan.prev) / 1e6 };
}

async function main() {
  const trials = Number(process.argv[2] ?? 20);
  const profile = process.argv[3] ?? 'fast';
  const lab = await Lab.create();
  try {
    const topo = await twoUplinkTopology(lab, { lanReturnVia: 'both' });
    // The backup ISP moves the LAN stream to port 5001, so the server sees which way it came.
    await topo.isp2.nft(
      `table ip lab_mark {\n  chain pre { type nat hook prerouting priority -100; iifname "down" ip saddr ${LAN_NET} udp dport 5000 dnat to ${SERVER}:5001; }\n}\n`,
    );
    const now = { gw: '', lan: '' } as Record<string, string>;
    const seen: Seen[] = [];
    topo.inet.spawn(process.execPath, ['-e', RECEIVER], {
      onLine: (l) => {
        try {
          const e = JSON.parse(l) as { stream: string; value: string; t: string; prev: string };
          now[e.stream] = e.value;
          seen.push({ ...e, t: BigInt(e.t), prev: BigInt(e.prev) });
        } catch {
          /* not ours */
        }
      },
    });
    topo.gw.spawn(process.execPath, ['-e', SENDER]);
    topo.lan.spawn(process.execPath, ['-e', SENDER]);
    const run = (kind: Fault) => trial(topo, kind, seen, () => now.gw === GW_WAN1 && now.lan === '5000');

    const d = await startDaemon(lab, topo.gw, twoUplinkConfig({ failback: '0s', profile }));
    const ours: Record<Fault, Gaps> = { blackhole: { route: [], lan: [] }, carrier: { route: [], lan: [] } };
    for (const kind of ['blackhole', 'carrier'] as const)
      for (let i = 0; i < trials; i++) add(ours[kind], await run(kind));
    const watch = (await d.status()).watch;
    // The peer: the kernel alone (uplinkd's carrier fast path off), so the fast path's worth shows.
    await d.cli(['quit']);
    await startDaemon(
      lab,
      topo.gw,
      twoUplinkConfig({ failback: '0s', profile, control: 'control:\n  carrier_poll: 0\n' }),
      {
        controlYaml: true,
      },
    );
    const kernelOnly: Gaps = { route: [], lan: [] };
    for (let i = 0; i < trials; i++) add(kernelOnly, await run('carrier'));
    console.log(
      JSON.stringify({
        bench: 'failover',
        trials,
        profile,
        blackhole_route_p50_ms: pct(ours.blackhole.route, 50),
        blackhole_route_p99_ms: pct(ours.blackhole.route, 99),
        blackhole_lan_p50_ms: pct(ours.blackhole.lan, 50),
        blackhole_lan_p99_ms: pct(ours.blackhole.lan, 99),
        carrier_route_p50_ms: pct(ours.carrier.route, 50),
        carrier_route_p99_ms: pct(ours.carrier.route, 99),
        carrier_lan_p50_ms: pct(ours.carrier.lan, 50),
        carrier_lan_p99_ms: pct(ours.carrier.lan, 99),
        kernel_only_carrier_route_p50_ms: pct(kernelOnly.route, 50),
        kernel_only_carrier_route_p99_ms: pct(kernelOnly.route, 99),
        kernel_only_carrier_lan_p50_ms: pct(kernelOnly.lan, 50),
        kernel_only_carrier_lan_p99_ms: pct(kernelOnly.lan, 99),
        goals: { blackhole_p99_ms: BLACKHOLE_GOAL_MS[profile] ?? null, carrier_p99_ms: 10 },
        watch,
      }),
    );
  } finally {
    await lab.teardown();
  }
}

await main();
