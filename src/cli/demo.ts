/**
 * `uplink demo`: a sandboxed gateway in network namespaces (two ISPs, an internet server, a
 * LAN client), uplinkd running in it with examples/demo.yaml, its dashboard relayed to the
 * host's loopback, and a narrated scenario with a check per step (demo-scenario.ts). Then it
 * waits for Ctrl-C. Touches nothing of the host's own network; always tears down.
 */
import { constants } from 'node:os';
import { rpc } from '../control/client.js';
import { UplinkError } from '../errors.js';
import { Lab, sleep } from '../lab/harness.js';
import { SERVER } from '../lab/topology.js';
import { UsageError, usageLine, type Command, type CommandContext } from './args.js';
import { buildDemoLab, type DemoLab } from './demo-lab.js';
import { Checks, Narrator, narrateEvents } from './demo-narrate.js';
import { playScenario } from './demo-scenario.js';

/** Between steps when a person watches (a terminal, no --scenario): time to look at the dashboard. */
const PACE_MS = 3000;

interface Mode {
  paced: boolean;
  wait: boolean;
}

function modeOf(opts: CommandContext['opts'], out: Narrator): Mode {
  if (opts.exit === true && opts.wait === true)
    throw new UsageError('--exit and --wait contradict each other', 'give one of them', usageLine('demo', demo));
  const paced = opts.scenario !== true && process.stdout.isTTY === true;
  if (opts.exit === true || opts.wait === true) return { paced, wait: opts.wait === true };
  if (process.stdin.isTTY) return { paced, wait: true };
  out.line('(stdin is not a terminal: the demo exits after the scenario; --wait keeps the sandbox until Ctrl-C)');
  return { paced, wait: false };
}

/** SIGINT/SIGTERM as a promise. A second one exits at once; the harness's exit hook still removes the namespaces. */
function interruption() {
  let fire: (s: NodeJS.Signals) => void = () => undefined;
  const signalled = new Promise<NodeJS.Signals>((r) => (fire = r));
  let fired = false;
  const on = (s: NodeJS.Signals) => {
    if (fired) process.exit(130);
    fired = true;
    fire(s);
  };
  const onInt = () => on('SIGINT');
  const onTerm = () => on('SIGTERM');
  process.on('SIGINT', onInt).on('SIGTERM', onTerm);
  return { signalled, dispose: () => process.off('SIGINT', onInt).off('SIGTERM', onTerm) };
}

function printAccess(lab: Lab, d: DemoLab, out: Narrator): void {
  out.say(`uplinkd runs in ${d.topo.gw.name} with examples/demo.yaml`);
  out.line(`  dashboard:  ${d.dashboard}   (from this machine reading needs no login)`);
  out.line(`  login link: ${d.login}   (one use: a session that may also act)`);
  out.line(`  try:        uplink --socket ${d.daemon.socket} status`);
  out.line(`              ip netns exec ${lab.prefix}-gw ip route get ${SERVER}`);
}

async function build(lab: Lab, out: Narrator): Promise<DemoLab> {
  out.say(`building the sandbox: namespaces ${lab.prefix}-{gw,isp1,isp2,inet,lan}`);
  try {
    return await buildDemoLab(lab);
  } catch (e) {
    if (e instanceof UplinkError) throw e;
    throw new UplinkError(
      'DEMO_SETUP',
      `the sandbox did not come up: ${(e as Error).message}`,
      'scripts/setup.sh installs what the lab needs',
    );
  }
}

/** One run of the demo: what `play` needs and what it tells `run`. */
interface Session {
  lab: Lab;
  out: Narrator;
  mode: Mode;
  signalled: Promise<NodeJS.Signals>;
  /** Set once the scenario is over and the demo waits for Ctrl-C. */
  waiting: boolean;
}

/** Builds, plays the scenario, then waits (or not): the exit status is the checks' verdict. */
async function play(s: Session): Promise<number> {
  const { lab, out, mode } = s;
  const demo = await build(lab, out);
  printAccess(lab, demo, out);
  const feed = await narrateEvents(demo.daemon.socket, out);
  const died = demo.daemon.proc.exited.then((x): never => {
    throw new Error(`uplinkd exited (${x.code ?? x.signal})`);
  });
  const checks = new Checks(out, died);
  const pause = mode.paced ? () => sleep(PACE_MS) : async () => undefined;
  await playScenario({ demo, out, checks, feed, pause });
  out.line(`\n${checks.summary()}`);
  if (mode.wait) {
    s.waiting = true;
    out.say('waiting: the sandbox stays up for the dashboard and the commands above; Ctrl-C tears it down');
    // The harness's own signal hook is already stopping the daemon and deleting the namespaces.
    await s.signalled;
  } else await quitDaemon(demo, out);
  feed.close();
  return checks.ok ? 0 : 1;
}

/**
 * `uplink quit --teardown` before the sandbox goes: it hangs up wan2 (its disconnect command)
 * and removes the daemon's routes, as on a real gateway. A plain stop would leave the connect
 * process behind, for the lab's teardown to kill. Failing here costs nothing: teardown kills.
 */
async function quitDaemon(d: DemoLab, out: Narrator): Promise<void> {
  out.say('stopping uplinkd: uplink quit --teardown hangs up wan2 and removes its routes, rules and ruleset');
  try {
    await rpc(d.daemon.socket, 'quit', { teardown: true });
    await Promise.race([d.daemon.proc.exited, sleep(10_000)]);
  } catch (e) {
    out.line(`  (quit failed: ${(e as Error).message}; the teardown stops it)`);
  }
}

export const demo: Command = {
  summary: 'run uplinkd in a sandbox of network namespaces: dashboard, failover and dial-on-demand scenario',
  options: {
    scenario: { type: 'boolean', help: 'play the scenario at full speed, without pauses for a viewer' },
    exit: { type: 'boolean', help: 'exit after the scenario, with status 0 only if all its checks passed' },
    wait: { type: 'boolean', help: 'after the scenario, wait for Ctrl-C even when stdin is not a terminal' },
  },
  async run({ opts }) {
    if (process.getuid?.() !== 0)
      throw new UplinkError('USAGE', 'the demo creates network namespaces and needs root', 'run it as root (sudo)');
    const out = new Narrator();
    const mode = modeOf(opts, out);
    const stop = interruption();
    const lab = await Lab.create();
    const session: Session = { lab, out, mode, signalled: stop.signalled, waiting: false };
    try {
      const played = play(session);
      played.catch(() => undefined); // interrupted: it may fail later, against a sandbox going away
      const first = await Promise.race([played, stop.signalled]);
      if (typeof first === 'number') return first;
      if (!session.waiting) out.silence();
      console.log(`\n== ${first}: tearing the sandbox down`);
      // Ctrl-C is how a waiting demo ends: its verdict stands. Mid-scenario it is the shell's 128 + signal.
      return session.waiting ? await played : 128 + constants.signals[first];
    } finally {
      stop.dispose();
      await lab.teardown();
      console.log(`\n== sandbox ${lab.prefix} removed`);
    }
  },
};
