/**
 * bench/idle: the idle footprint of a daemon with two uplinks on the `normal` probe profile in a
 * lab. First the time from exec to the control socket answering: from just before the spawn
 * (`ip netns exec` and the lab's cgroup-mount shell, a few ms, are in it) to the first
 * successful `ping` RPC, polled every 2 ms, over STARTS starts (the first with an empty state
 * dir; each later one after `uplink quit`). The last daemon then stays up: SETTLE_S after its
 * start, the RSS of it and all its descendants (VmRSS summed over the process tree from
 * /proc/PID/task/TID/children; PSS as well, which counts shared pages once), its thread count;
 * then its CPU over the next MEASURE_S as a percentage of one core (utime + stime + cutime +
 * cstime ticks of every process in the tree, so children that came and went count too, over
 * CLK_TCK and the elapsed time; nothing talks to the daemon in that window). RSS is the larger
 * of the samples at the start and the end of that window. Peer, in the same lab at the same
 * time, measured the same way: a slip-check-style shell watchdog at its fastest, `ping -c1 -W1`
 * of the server every second from the gateway namespace and a route change when it fails.
 * For the notes it also measures Node itself: `node -e 0` from exec to exit (median of 3), and
 * the RSS and CPU of a bare `node -e 'setInterval(…, 1000)'` in the same window; and then the
 * daemon once more with its 10 ms carrier poll off (`control.carrier_poll: 0`), its CPU and RSS
 * after the same settle time over the same window.
 * Goals: RSS ≤ 60 MB, CPU ≤ 0.1 % of one core, exec → control socket ≤ 300 ms.
 * Prints one JSON line. Usage: node dist/bench/idle.js [SETTLE_S (20)] [MEASURE_S (20)] [STARTS (5)]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { rpc } from '../src/control/client.js';
import { Lab, sleep, waitFor } from '../src/lab/harness.js';
import { labConfig, startDaemon, type RunningDaemon } from '../src/lab/daemon.js';
import { ISP2_DOWN, SERVER, twoUplinkTopology } from '../src/lab/topology.js';
import { twoUplinkConfig } from '../test/lab/uplinks-lab.js';

const GOALS = { rss_mb: 60, cpu_pct: 0.1, startup_ms: 300 };

export const clkTck = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process (or thread) is gone
  }
};

/** The process and every descendant alive now (children of each of its threads). */
export function processTree(root: number): number[] {
  const out: number[] = [];
  const todo = [root];
  while (todo.length) {
    const pid = todo.shift()!;
    if (out.includes(pid) || read(`/proc/${pid}/stat`) === undefined) continue;
    out.push(pid);
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      /* gone */
    }
    for (const tid of tasks)
      for (const c of (read(`/proc/${pid}/task/${tid}/children`) ?? '').split(/\s+/).filter(Boolean))
        todo.push(Number(c));
  }
  return out;
}

interface ProcStat {
  comm: string;
  ticks: number; // utime + stime + cutime + cstime
  threads: number;
}

function procStat(pid: number): ProcStat | undefined {
  const s = read(`/proc/${pid}/stat`);
  if (!s) return undefined;
  const close = s.lastIndexOf(')');
  const comm = s.slice(s.indexOf('(') + 1, close);
  // Fields after the comm, from field 3 (state): utime is field 14, num_threads field 20.
  const f = s
    .slice(close + 2)
    .split(' ')
    .map((x) => Number(x));
  return { comm, ticks: f[11]! + f[12]! + f[13]! + f[14]!, threads: f[17]! };
}

const statusKb = (pid: number, key: string, file = 'status') => {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(read(`/proc/${pid}/${file}`) ?? '');
  return m ? Number(m[1]) : 0;
};
const mb = (kb: number) => Math.round((kb / 1024) * 10) / 10;

/** RSS and PSS of the tree, and each process's share. */
function footprint(root: number) {
  const procs = processTree(root).map((pid) => ({
    pid,
    comm: procStat(pid)?.comm ?? '?',
    rssKb: statusKb(pid, 'VmRSS'),
    pssKb: statusKb(pid, 'Pss', 'smaps_rollup'),
  }));
  return {
    rssMb: mb(procs.reduce((a, p) => a + p.rssKb, 0)),
    pssMb: mb(procs.reduce((a, p) => a + p.pssKb, 0)),
    threads: procStat(root)?.threads ?? 0,
    processes: procs.map((p) => ({ comm: p.comm, rss_mb: mb(p.rssKb) })),
  };
}

/** CPU ticks (utime + stime + cutime + cstime) of a process and its descendants. */
export const treeTicks = (root: number) => processTree(root).reduce((a, pid) => a + (procStat(pid)?.ticks ?? 0), 0);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

/** Starts the daemon on `configFile`; ms from just before the spawn to the first answered ping. */
async function timedStart(lab: Lab, topo: Awaited<ReturnType<typeof twoUplinkTopology>>, configFile: string) {
  const socket = join(dirname(configFile), 'uplinkd.sock');
  const t0 = performance.now();
  const started = startDaemon(lab, topo.gw, '', { configFile });
  let answered = 0;
  while (!answered) {
    try {
      await rpc(socket, 'ping');
      answered = performance.now();
    } catch {
      if (performance.now() - t0 > 15_000) break; // startDaemon's own wait throws the error
      await sleep(2);
    }
  }
  const d = await started;
  return { d, ms: Math.round((answered - t0) * 10) / 10 };
}

async function main() {
  const settleS = Number(process.argv[2] ?? 20);
  const measureS = Number(process.argv[3] ?? 20);
  const starts = Math.max(1, Number(process.argv[4] ?? 5));
  const lab = await Lab.create();
  try {
    const topo = await twoUplinkTopology(lab);
    const configFile = lab.tempFile('uplinkd.yaml', '');
    writeFileSync(configFile, labConfig(dirname(configFile), twoUplinkConfig({ profile: 'normal' })));
    const startup: number[] = [];
    let d: RunningDaemon | undefined;
    for (let i = 0; i < starts; i++) {
      if (d) {
        await d.cli(['quit']);
        await d.proc.exited;
      }
      const s = await timedStart(lab, topo, configFile);
      d = s.d;
      startup.push(s.ms);
    }
    // What Node itself costs, for the notes: `node -e 0` exec to exit, and a bare idle node's RSS.
    const nodeStart: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await topo.gw.exec([process.execPath, '-e', '0']);
      nodeStart.push(Math.round((performance.now() - t) * 10) / 10);
    }
    const bare = topo.gw.spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    const startedAt = performance.now();
    // The peer: a watchdog shell loop at its fastest (slip-check style); its repair goes to a
    // table of its own so it can never touch the daemon's routes (it does not fail here anyway).
    const watchdog = `while :; do ping -c1 -W1 ${SERVER} >/dev/null 2>&1 || ip route replace default via ${ISP2_DOWN} dev wan2 table 250; sleep 1; done`;
    const peer = topo.gw.spawn('sh', ['-c', watchdog]);
    await waitFor(
      async () => {
        const st = await d!.status();
        return ['wan1', 'wan2'].every((n) => st.uplinks.find((u) => u.name === n)?.state === 'up') && st;
      },
      { timeoutMs: 30_000, what: 'both uplinks up' },
    );
    const pid = (await d!.status()).daemon.pid;
    await sleep(Math.max(0, settleS * 1000 - (performance.now() - startedAt)));

    const bareRss = footprint(bare.pid).rssMb;
    const before = { ours: footprint(pid), peer: footprint(peer.pid) };
    const ticks0 = { ours: treeTicks(pid), peer: treeTicks(peer.pid), bare: treeTicks(bare.pid) };
    const t0 = performance.now();
    await sleep(measureS * 1000);
    const ticks1 = { ours: treeTicks(pid), peer: treeTicks(peer.pid), bare: treeTicks(bare.pid) };
    const elapsedS = (performance.now() - t0) / 1000;
    bare.kill();
    const after = { ours: footprint(pid), peer: footprint(peer.pid) };
    const cpuPct = (ticks: number) => Math.round((ticks / clkTck / elapsedS) * 100 * 1000) / 1000;
    const bigger = (a: ReturnType<typeof footprint>, b: ReturnType<typeof footprint>) => (b.rssMb > a.rssMb ? b : a);
    const ours = bigger(before.ours, after.ours);
    const theirs = bigger(before.peer, after.peer);
    const oursTicks = ticks1.ours - ticks0.ours;
    const peerTicks = ticks1.peer - ticks0.peer;
    const st = await d!.status();
    peer.kill();

    // The same daemon with the 10 ms carrier poll off (control.carrier_poll: 0): what it costs.
    await d!.cli(['quit']);
    await d!.proc.exited;
    const pollOff = twoUplinkConfig({ profile: 'normal', control: 'control:\n  carrier_poll: 0\n' });
    writeFileSync(configFile, labConfig(dirname(configFile), pollOff, true));
    d = (await timedStart(lab, topo, configFile)).d;
    const offAt = performance.now();
    const offPid = (await d.status()).daemon.pid;
    await sleep(Math.max(0, settleS * 1000 - (performance.now() - offAt)));
    const offTicks0 = treeTicks(offPid);
    const offT0 = performance.now();
    await sleep(measureS * 1000);
    const offTicks = treeTicks(offPid) - offTicks0;
    const offPct = Math.round((offTicks / clkTck / ((performance.now() - offT0) / 1000)) * 100 * 1000) / 1000;
    const offRss = footprint(offPid).rssMb;
    const startupMax = Math.max(...startup);
    const result = {
      bench: 'idle',
      profile: 'normal',
      uplinks: st.uplinks.map((u) => `${u.name}:${u.state}`),
      settle_s: settleS,
      measure_s: +elapsedS.toFixed(2),
      clk_tck: clkTck,
      starts,
      startup_ms: { first: startup[0], p50: pct(startup, 50), max: startupMax, all: startup },
      rss_mb: ours.rssMb,
      pss_mb: ours.pssMb,
      rss_by_process: ours.processes,
      threads: ours.threads,
      cpu_ticks: oursTicks,
      cpu_pct: cpuPct(oursTicks),
      peer: {
        what: 'shell watchdog: ping -c1 -W1 every 1 s',
        rss_mb: theirs.rssMb,
        pss_mb: theirs.pssMb,
        rss_by_process: theirs.processes,
        cpu_ticks: peerTicks,
        cpu_pct: cpuPct(peerTicks),
      },
      carrier_poll_off: { cpu_ticks: offTicks, cpu_pct: offPct, rss_mb: offRss },
      node_baseline_rss_mb: bareRss,
      node_baseline_cpu_pct: cpuPct(ticks1.bare - ticks0.bare),
      node_baseline_start_ms: pct(nodeStart, 50),
      goals: GOALS,
      ok: ours.rssMb <= GOALS.rss_mb && cpuPct(oursTicks) <= GOALS.cpu_pct && startupMax <= GOALS.startup_ms,
    };
    await d.cli(['quit']);
    console.log(JSON.stringify(result));
  } finally {
    await lab.teardown();
  }
}

if (process.argv[1]?.endsWith('idle.js')) await main();
