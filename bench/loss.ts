/**
 * bench/loss: false failovers of the `instant` profile on a lossy primary, and what 50 ms
 * probing costs. Four labs at once, each with two uplinks on `instant` (wan2 the clean
 * backup) and random loss on wan1's way out (nft `numgen random` in ISP 1 dropping that many
 * per cent of the gateway's packets): 1 % and 5 % loss, each probing one target and probing
 * two with `reliability: 1` (a round passes when either answers: a quorum of targets).
 * For SECONDS (600 in the full run) it counts the selections that left wan1 (each one a
 * failover nothing justified: the link never died) and wan1's falls from up. The labs'
 * daemons also give the CPU of 50 ms probing: their CPU over the run (counted as
 * bench/idle counts it, the daemon and its children) per uplink.
 * Goal (the issue's): zero false failovers at 1 % loss with two or more targets; 5 % is
 * reported as it comes. Prints one JSON line.
 * Usage: node dist/bench/loss.js [SECONDS (600)] [LOSSxTARGETS,… (all four: 1x1,1x2,5x1,5x2)]
 */
import { Lab, sleep, waitFor } from '../src/lab/harness.js';
import { monitor, startDaemon } from '../src/lab/daemon.js';
import { GW_WAN1, ISP1_DOWN, ISP2_DOWN, SERVER, twoUplinkTopology } from '../src/lab/topology.js';
import { clkTck, treeTicks } from './idle.js';

/** A second probe target on the far side, next to SERVER. */
const SERVER_B = '192.0.2.101';

interface Trial {
  lossPct: number;
  targets: number;
}

async function run(t: Trial, seconds: number) {
  const lab = await Lab.create();
  try {
    const topo = await twoUplinkTopology(lab);
    await topo.inet.ip(['addr', 'add', `${SERVER_B}/32`, 'dev', 'lo']);
    const targets = t.targets === 2 ? `[${SERVER}, ${SERVER_B}], reliability: 1` : `[${SERVER}]`;
    const probe = `probe: { profile: instant, targets: ${targets} }`;
    const d = await startDaemon(
      lab,
      topo.gw,
      `uplinks:
  wan1: { interface: wan1, priority: 10, gateway: ${ISP1_DOWN}, ${probe} }
  wan2: { interface: wan2, mode: backup, priority: 20, gateway: ${ISP2_DOWN}, ${probe} }
`,
    );
    await waitFor(async () => (await d.status()).selection.selected === 'wan1', {
      timeoutMs: 20_000,
      what: 'traffic on wan1',
    });
    await topo.isp1.nft(`table inet lab_loss {
  chain pre { type filter hook prerouting priority -300; iifname "down" ip saddr ${GW_WAN1} numgen random mod 100 < ${t.lossPct} drop; }
}
`);
    const events = await monitor(d.socket);
    const pid = (await d.status()).daemon.pid;
    const ticks0 = treeTicks(pid);
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const cpuS = (treeTicks(pid) - ticks0) / clkTck;
    const elapsedS = (performance.now() - t0) / 1000;
    events.close();
    const falls = events.events.filter(
      (e) => e.type === 'uplink' && e.event === 'state' && e.name === 'wan1' && e.prev === 'up',
    ).length;
    const moves = events.events.filter((e) => e.type === 'selection' && e.prev === 'wan1').length;
    const s = await d.status();
    const wan1 = s.uplinks.find((u) => u.name === 'wan1');
    return {
      loss_pct: t.lossPct,
      targets: t.targets,
      false_failovers: moves,
      wan1_falls: falls,
      wan1_probe_loss_pct: wan1?.probe?.lossPct,
      cpu_pct_per_uplink: +((cpuS / elapsedS / 2) * 100).toFixed(3),
    };
  } finally {
    await lab.teardown();
  }
}

async function main() {
  const seconds = Number(process.argv[2] ?? 600);
  // LOSSxTARGETS,… picks trials (e.g. 1x2 alone, to time one daemon without the others).
  const pick = process.argv[3]?.split(',');
  const trials: Trial[] = [
    { lossPct: 1, targets: 1 },
    { lossPct: 1, targets: 2 },
    { lossPct: 5, targets: 1 },
    { lossPct: 5, targets: 2 },
  ].filter((t) => !pick || pick.includes(`${t.lossPct}x${t.targets}`));
  const results = await Promise.all(trials.map((t) => run(t, seconds)));
  const cpu = results.map((r) => r.cpu_pct_per_uplink).sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      bench: 'loss',
      profile: 'instant',
      seconds,
      trials: results,
      cpu_pct_per_uplink_median: cpu[Math.floor(cpu.length / 2)],
      cpu_pct_per_uplink_max: cpu.at(-1),
      goals: { false_failovers_1pct_quorum: 0 },
    }),
  );
}

await main();
