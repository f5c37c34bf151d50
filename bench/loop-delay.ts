/**
 * bench/loop-delay: the event-loop delay of the daemon's main thread (what probing, judging and
 * failover wait behind) under load, as the daemon reports it (status `daemon.eventLoop`: p99 and
 * max of its event-loop delay histogram over the current and the last full minute; each sample
 * is the time between the monitor's timer firings, so a loop that is never late reads the
 * monitor's sampling interval itself: hence the idle row). Two uplinks, fast profile, a fresh
 * daemon for each load, so each number covers that daemon's start, 1.5 s of idling on wan1 and
 * the load alone. The loads:
 *   idle       nothing for a few seconds: the peer of every other row (the same daemon, no load);
 *   routes     ROUTES foreign routes arriving at once (blackhole /32s in table 100, from
 *              src/lab/route-flood.js in the gateway's namespace: batched RTM_NEWROUTE, some
 *              250,000 a second), until the daemon has counted them all;
 *   reload     `uplink reload` onto a config with FORWARDS port forwards;
 *   dashboard  DASHBOARD_S seconds of a dashboard client through the lab's HTTP bridge: an SSE
 *              stream on /api/events and /api/status + /metrics polled every 100 ms;
 *   hooks      a hook storm: ten hooks in the hooks dir, the backup (on the instant profile, so
 *              it is up again within 0.5 s) loses its carrier FLAPS times, each time once it
 *              is up again: a down and an up event each, ten hook execs each; until the hook
 *              queues are idle.
 * During every load but the hook storm (which flaps the backup) the primary is blackholed 200 ms
 * in, and the time until the kernel routes via the backup (`ip route get`, every 5 ms) must
 * stay within the profile's bound (3 × 200 ms + 150 ms) plus the 50 ms the measurement itself
 * may add. As a cross-check from outside, a `ping` RPC every 50 ms is timed throughout.
 * Prints one JSON line.
 * Usage: node dist/bench/loop-delay.js [ROUTES (1000000)] [FORWARDS (60000)] [DASHBOARD_S (10)] [FLAPS (50)]
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { rpc } from '../src/control/client.js';
import { fileLines } from '../src/lab/files.js';
import { Lab, sleep, waitFor } from '../src/lab/harness.js';
import { labConfig, startDaemon, type RunningDaemon } from '../src/lab/daemon.js';
import { httpBridge, type HttpBridge } from '../src/lab/http-bridge.js';
import { httpCall, sseOpen } from '../src/lab/http-client.js';
import { SERVER, twoUplinkTopology } from '../src/lab/topology.js';
import { routeFlood } from '../test/lab/routes.js';
import { routeDev, twoUplinkConfig } from '../test/lab/uplinks-lab.js';
import { blackholeFailoverMs, forwardsYaml } from './reload.js';

const BOUND_MS = 3 * 200 + 150;
const SLACK_MS = 50;
/** Hook files in the storm's hooks dir: each runs for every event. */
const HOOKS = 10;
const LAN = 'lan:\n  - { interface: lan0, zone: lan }\n';
type Topo = Awaited<ReturnType<typeof twoUplinkTopology>>;
type LoopDelay = { p99Ms: number; maxMs: number; windowS: number; maxSinceStartMs: number };

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? +s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!.toFixed(2) : null;
};

const failover = blackholeFailoverMs;

/** A `ping` RPC every 50 ms until stopped: the daemon's answer time seen from outside. */
function pinger(socket: string) {
  const times: number[] = [];
  let on = true;
  const done = (async () => {
    while (on) {
      const t0 = performance.now();
      await rpc(socket, 'ping').catch(() => undefined);
      times.push(performance.now() - t0);
      await sleep(50);
    }
  })();
  return async () => {
    on = false;
    await done;
    return { p99: pct(times, 99), max: pct(times, 100), n: times.length };
  };
}

interface Load {
  name: string;
  what: string;
  yaml: string;
  failover: boolean;
  run(d: RunningDaemon): Promise<Record<string, unknown>>;
  after?(): Promise<void>;
}

async function measure(lab: Lab, topo: Topo, load: Load) {
  const d = await startDaemon(lab, topo.gw, load.yaml);
  await waitFor(async () => (await routeDev(topo.gw, SERVER)) === 'wan1', { timeoutMs: 20_000, what: 'on wan1' });
  await sleep(1500);
  const before = (await d.status()).daemon.eventLoop as LoopDelay;
  const stopPing = pinger(d.socket);
  const t0 = performance.now();
  let loadDone = 0;
  const work = load.run(d).then((extra) => {
    loadDone = performance.now();
    return extra;
  });
  let failoverMs: number | undefined;
  let failoverInLoad: boolean | undefined;
  if (load.failover) {
    await sleep(200);
    failoverInLoad = !loadDone;
    failoverMs = await failover(topo);
  }
  const extra = await work;
  const loadS = +((loadDone - t0) / 1000).toFixed(2);
  const rpcPing = await stopPing();
  const after = (await d.status()).daemon.eventLoop as LoopDelay;
  await d.cli(['quit']);
  await d.proc.exited;
  await load.after?.();
  return {
    load: load.name,
    what: load.what,
    load_s: loadS,
    idle_before: before,
    p99_ms: after.p99Ms,
    max_ms: after.maxMs,
    window_s: after.windowS,
    rpc_ping_ms: rpcPing,
    ...(load.failover
      ? {
          failover_ms: failoverMs,
          failover_started_during_load: failoverInLoad,
          failover_ok: failoverMs! <= BOUND_MS + SLACK_MS,
        }
      : {}),
    ...extra,
  };
}

async function main() {
  const routes = Number(process.argv[2] ?? 1_000_000);
  const forwards = Number(process.argv[3] ?? 60_000);
  const dashboardS = Number(process.argv[4] ?? 10);
  const flaps = Number(process.argv[5] ?? 50);
  const lab = await Lab.create();
  try {
    const topo = await twoUplinkTopology(lab, { lanReturnVia: 'both' });
    const small = twoUplinkConfig({ failback: '0s', extra: LAN });

    const hookLog = lab.tempFile('hook-runs', '');

    let bridge: HttpBridge | undefined;
    const hookDir = join(dirname(hookLog), 'hooks.d');
    mkdirSync(hookDir, { mode: 0o755 });
    for (let i = 0; i < HOOKS; i++) {
      const hook = join(hookDir, `${10 + i}-log`);
      writeFileSync(hook, `#!/bin/sh\necho "$UPLINK $EVENT" >> ${hookLog}\nexit 0\n`);
      chmodSync(hook, 0o755);
    }

    const loads: Load[] = [
      {
        name: 'idle',
        what: 'no load (3 s)',
        yaml: small,
        failover: true,
        run: async () => (await sleep(3000), {}),
      },
      {
        name: 'routes',
        what: `${routes} foreign routes arriving (batched RTM_NEWROUTE, table 100)`,
        yaml: small,
        failover: true,
        async run(d) {
          await routeFlood(topo.gw, routes, 100);
          // Done when the daemon counts them all, or (after an overrun and resync) stops moving.
          let last = -1;
          let still = 0;
          let seen = 0;
          await waitFor(
            async () => {
              const st = await d.status();
              seen = st.foreignRoutes.ipv4['100'] ?? 0;
              still = seen === last ? still + 1 : 0;
              last = seen;
              return seen >= routes || still >= 30;
            },
            { timeoutMs: 300_000, intervalMs: 100, what: 'the routes counted' },
          );
          const w = (await d.status()).watch;
          return { routes, foreign_counted: seen, overruns: w.overruns, resyncs: w.resyncs };
        },
        async after() {
          await topo.gw.ip(['route', 'flush', 'table', '100'], { timeoutMs: 600_000 });
        },
      },
      {
        name: 'reload',
        what: `uplink reload onto ${forwards} port forwards`,
        yaml: small,
        failover: true,
        async run(d) {
          writeFileSync(
            d.configFile,
            labConfig(dirname(d.configFile), twoUplinkConfig({ failback: '0s', extra: LAN + forwardsYaml(forwards) })),
          );
          const t0 = performance.now();
          const r = await d.cli(['reload']);
          if (r.code !== 0) throw new Error(`reload failed: ${r.stderr}`);
          return { forwards, reload_ms: Math.round(performance.now() - t0) };
        },
      },
      {
        name: 'dashboard',
        what: `dashboard client for ${dashboardS} s (SSE + /api/status + /metrics every 100 ms)`,
        yaml: small,
        failover: true,
        async run() {
          bridge ??= await httpBridge(lab, topo.gw);
          const sse = await sseOpen(`${bridge.url}/api/events`);
          const lat: number[] = [];
          let errors = 0;
          const end = performance.now() + dashboardS * 1000;
          while (performance.now() < end) {
            const t0 = performance.now();
            const replies = await Promise.all([
              httpCall(`${bridge.url}/api/status`).catch(() => undefined),
              httpCall(`${bridge.url}/metrics`).catch(() => undefined),
            ]);
            errors += replies.filter((r) => r?.status !== 200).length;
            lat.push(performance.now() - t0);
            await sleep(Math.max(0, 100 - (performance.now() - t0)));
          }
          sse.close();
          return {
            polls: lat.length,
            http_errors: errors,
            sse_status: sse.status,
            sse_events: sse.events.length,
            poll_p99_ms: pct(lat, 99),
          };
        },
      },
      {
        name: 'hooks',
        what: `hook storm: ${HOOKS} hooks, the backup's carrier flapped ${flaps} times`,
        // The backup on the instant profile, so it is back up (and its hooks run) within 0.5 s.
        yaml: twoUplinkConfig({ failback: '0s', extra: `${LAN}hooks: { dir: ${hookDir}, timeout: 5s }\n` }).replace(
          /(\n {2}wan2: .*profile: )fast/,
          '$1instant',
        ),
        failover: false,
        async run(d) {
          const ran0 = fileLines(hookLog).length;
          const wan2 = async () => (await d.status()).uplinks.find((u) => u.name === 'wan2')?.state;
          for (let i = 0; i < flaps; i++) {
            await waitFor(async () => (await wan2()) === 'up', { timeoutMs: 20_000, what: 'wan2 up' });
            await topo.isp2.ip(['link', 'set', 'dev', 'down', 'down']);
            await waitFor(async () => (await wan2()) !== 'up', {
              timeoutMs: 20_000,
              intervalMs: 10,
              what: 'wan2 down',
            });
            await topo.carrierUp('isp2');
          }
          let last = -1;
          await waitFor(
            async () => {
              const st = await d.status();
              const ran = fileLines(hookLog).length;
              const quiet = st.hooks.running.length === 0 && ran === last;
              last = ran;
              return quiet;
            },
            { timeoutMs: 60_000, intervalMs: 500, what: 'the hooks done' },
          );
          const h = (await d.status()).hooks;
          return {
            flaps,
            hooks: HOOKS,
            hook_execs: fileLines(hookLog).length - ran0,
            hooks_ran: h.ran,
            hook_events_dropped_stale: h.dropped,
          };
        },
      },
    ];
    const results = [];
    for (const load of loads) results.push(await measure(lab, topo, load));
    const idle = results[0]!;
    const loaded = results.slice(1);
    console.log(
      JSON.stringify({
        bench: 'loop-delay',
        profile: 'fast',
        bound_ms: BOUND_MS,
        slack_ms: SLACK_MS,
        loads: results,
        worst_p99_ms: Math.max(...loaded.map((r) => r.p99_ms)),
        worst_max_ms: Math.max(...loaded.map((r) => r.max_ms)),
        idle_p99_ms: idle.p99_ms,
        idle_max_ms: idle.max_ms,
        ok: results.every((r) => r.failover_ok !== false),
      }),
    );
  } finally {
    await lab.teardown();
  }
}

if (process.argv[1]?.endsWith('loop-delay.js')) await main();
