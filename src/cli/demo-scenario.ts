/**
 * The narrated scenario of `uplink demo`, one check per step: the primary dies silently and
 * the LAN's traffic dials the backup; the primary recovers and traffic fails back; its cable
 * is pulled and traffic moves to the still-dialed backup; the backup idles and hangs up; a
 * LAN packet dials it again; the cable comes back. Every wait has a timeout: a broken step
 * fails its check and the scenario goes on.
 */
import type { Status } from '../control/status.js';
import { sleep, type NsProcess } from '../lab/harness.js';
import { LAN_HOST, SERVER } from '../lab/topology.js';
import type { DemoLab } from './demo-lab.js';
import type { Checks, EventFeed, Narrator } from './demo-narrate.js';

/** One wait of a step; a failback after a silent outage takes about 8 s on the `fast` profile. */
const WAIT_MS = 30_000;

export interface ScenarioContext {
  demo: DemoLab;
  out: Narrator;
  checks: Checks;
  feed: EventFeed;
  /** Between steps: a moment for a viewer of the dashboard, or nothing. */
  pause(): Promise<void>;
  /** The LAN's steady traffic while it runs (a ping five times a second). */
  busyLan?: NsProcess;
  /** wan2's dial count when the cable was pulled. */
  dialsBefore?: number;
}

type UplinkStatus = Status['uplinks'][number];

/** Polls `read` until `ok`; on timeout the error shows what was last seen. */
async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, show: (v: T) => string) {
  const deadline = Date.now() + WAIT_MS;
  let last = 'nothing yet';
  for (;;) {
    try {
      const v = await read();
      if (ok(v)) return v;
      last = show(v);
    } catch (e) {
      last = (e as Error).message.split('\n')[0]!;
    }
    if (Date.now() > deadline) throw new Error(`no ${what} within ${WAIT_MS / 1000} s (last: ${last})`);
    await sleep(100);
  }
}

async function uplink(c: ScenarioContext, name: string): Promise<UplinkStatus> {
  const u = (await c.demo.daemon.status()).uplinks.find((x) => x.name === name);
  if (!u) throw new Error(`no uplink ${name} in the status`);
  return u;
}

const dials = async (c: ScenarioContext) => (await uplink(c, 'wan2')).dial?.attempts ?? 0;

/** The interface the gateway sends a packet to the server out of, as the kernel decides it. */
async function routeDev(c: ScenarioContext): Promise<string> {
  const r = await c.demo.topo.gw.ip(['route', 'get', SERVER], { check: false });
  return /\bdev (\S+)/.exec(r.stdout)?.[1] ?? (r.stderr.trim() || 'no route');
}

const trafficVia = (c: ScenarioContext, dev: string) =>
  until(
    `traffic through ${dev}`,
    () => routeDev(c),
    (d) => d === dev,
    (d) => `through ${d}`,
  );

const uplinkIs = (c: ScenarioContext, name: string, what: string, ok: (u: UplinkStatus) => boolean) =>
  until(
    `${name} ${what}`,
    () => uplink(c, name),
    ok,
    (u) => `${u.state}, ${u.reason}`,
  );

/** One ping from the LAN host; its round trip as ping prints it (a held packet's includes the dial). */
async function lanPing(c: ScenarioContext, waitS = 3): Promise<string> {
  const argv = ['ping', '-n', '-c1', `-W${waitS}`, SERVER];
  const r = await c.demo.topo.lan.exec(argv, { check: false, timeoutMs: (waitS + 5) * 1000 });
  if (r.code !== 0) throw new Error(`the LAN's ping to ${SERVER} got no answer`);
  return /time=([\d.]+ ms)/.exec(r.stdout)?.[1] ?? 'an unknown time';
}

async function trigger(c: ScenarioContext): Promise<string> {
  const t = (await uplink(c, 'wan2')).demand?.lastTrigger;
  return t ? `${t.packet}, rule "${t.rule}"` : 'no trigger recorded';
}

function lastHangup(c: ScenarioContext): string {
  const hangups = c.feed.events.flatMap((e) => (e.type === 'demand' && e.event === 'hangup' ? [e.message] : []));
  return hangups.at(-1) ?? 'no hang-up event seen';
}

interface Step {
  title: string;
  name: string;
  claim: string;
  act?(c: ScenarioContext): Promise<void>;
  /** Waits for the claim; throws if it does not come true. Returns a note for the check line. */
  verify(c: ScenarioContext): Promise<string | undefined>;
}

const STEPS: Step[] = [
  {
    title: 'wan1 (fiber, mode always) carries the traffic; wan2 (metered, mode demand) is not dialed',
    name: 'ready',
    claim: `traffic to ${SERVER} leaves through wan1; wan2 waits undialed`,
    async verify(c) {
      await until(
        'selection of wan1',
        () => c.demo.daemon.status(),
        (s) => s.selection.selected === 'wan1',
        (s) => `selected ${s.selection.selected ?? 'nothing'}`,
      );
      await trafficVia(c, 'wan1');
      const w2 = await uplink(c, 'wan2');
      if (w2.usable || (w2.dial?.attempts ?? 0) > 0) throw new Error(`wan2 is ${w2.state} (${w2.reason})`);
      return `the LAN's ping is answered in ${await lanPing(c)}`;
    },
  },
  {
    title: `isp1 dies silently: the cable stays up, packets vanish. The LAN keeps pinging ${SERVER}`,
    name: 'failover',
    claim: `traffic to ${SERVER} leaves through wan2, dialed for the LAN's packets`,
    async act(c) {
      c.busyLan = c.demo.topo.lan.spawn('ping', ['-n', '-q', '-i', '0.2', SERVER]);
      await c.demo.topo.blackhole('isp1');
    },
    async verify(c) {
      await trafficVia(c, 'wan2');
      const ms = await lanPing(c);
      const why = await trigger(c);
      if (!why.includes(LAN_HOST)) throw new Error(`wan2 carries traffic, but was not dialed for the LAN: ${why}`);
      return `dialed by ${why}; the LAN's ping is answered in ${ms}`;
    },
  },
  {
    title: 'isp1 recovers: wan1 must pass 5 probe rounds, clear its loss window and hold for its failback_delay (2 s)',
    name: 'failback',
    claim: `traffic to ${SERVER} leaves through wan1 again`,
    act: (c) => c.demo.topo.unblackhole('isp1'),
    async verify(c) {
      await trafficVia(c, 'wan1');
      return `the LAN's ping is answered in ${await lanPing(c)}; wan2 stays dialed until it idles (idle: 5s)`;
    },
  },
  {
    title: "someone pulls wan1's cable: carrier lost. wan2 is still dialed, so traffic moves to it at once",
    name: 'cable pulled',
    claim: `wan1 is down and traffic to ${SERVER} leaves through wan2`,
    async act(c) {
      c.dialsBefore = await dials(c);
      await c.demo.topo.carrierDown('isp1');
    },
    async verify(c) {
      const w1 = await uplinkIs(c, 'wan1', 'down', (u) => u.state === 'down');
      await trafficVia(c, 'wan2');
      const ms = await lanPing(c);
      const again = (await dials(c)) > (c.dialsBefore ?? 0) ? 'wan2 had idled out and was dialed again' : 'no new dial';
      return `wan1: ${w1.reason}; ${again}; the LAN's ping is answered in ${ms}`;
    },
  },
  {
    title: 'the LAN falls quiet: wan2 carries nothing, hangs up after 5 s idle, and the proxy dod-wan2 takes the route',
    name: 'idle hang-up',
    claim: `wan2 hangs up; traffic to ${SERVER} would wait in the demand proxy dod-wan2`,
    async act(c) {
      await c.busyLan?.stop(1000);
    },
    async verify(c) {
      await uplinkIs(c, 'wan2', 'hung up', (u) => !u.usable && !u.link.up);
      await trafficVia(c, 'dod-wan2');
      return lastHangup(c);
    },
  },
  {
    title: 'a LAN host pings the server: the packet waits in the proxy while wan2 dials (1 s), then goes out',
    name: 'dial on demand',
    claim: "the LAN's ping dials wan2 and is answered",
    async verify(c) {
      const before = await dials(c);
      const ms = await lanPing(c, 10);
      await trafficVia(c, 'wan2');
      if ((await dials(c)) <= before) throw new Error('answered, but wan2 was not dialed for it');
      const why = await trigger(c);
      if (!why.includes(LAN_HOST)) throw new Error(`dialed, but not for the LAN host: ${why}`);
      return `dialed by ${why}; the held ping is answered after ${ms}`;
    },
  },
  {
    title: 'the cable is back: wan1 passes its probe rounds and failback delay; wan2 idles out again later',
    name: 'cable back',
    claim: `traffic to ${SERVER} leaves through wan1 again`,
    act: (c) => c.demo.topo.carrierUp('isp1'),
    async verify(c) {
      await trafficVia(c, 'wan1');
      return `the LAN's ping is answered in ${await lanPing(c)}`;
    },
  },
];

export async function playScenario(c: ScenarioContext): Promise<void> {
  for (const [i, step] of STEPS.entries()) {
    if (i > 0) await c.pause();
    c.out.say(step.title);
    await c.checks.check(step.name, step.claim, async () => {
      await step.act?.(c);
      return step.verify(c);
    });
  }
}
