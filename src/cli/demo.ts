/**
 * `uplink demo`: a sandboxed gateway in network namespaces (two ISPs, an
 * internet server, a LAN client), uplinkd running in it, and a scripted tour of
 * what it sees. Touches nothing of the host's own network; always tears down.
 */
import { writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UplinkError } from '../errors.js';
import { Lab, sleep, waitFor } from '../lab/harness.js';
import { labConfig, monitor, startDaemon } from '../lab/daemon.js';
import { twoUplinkTopology, ISP1_DOWN, ISP2_DOWN, SERVER } from '../lab/topology.js';
import type { DaemonEvent } from '../events/bus.js';
import type { Command } from './args.js';
import { formatEvent } from './monitor.js';
import { formatStatus } from './status.js';
import { demandTour } from './demo-demand.js';

const PROBE = `probe: { profile: fast, targets: [${SERVER}] }, failback_delay: 2s`;
const DEMO_UPLINKS = `uplinks:
  wan1: { interface: wan1, priority: 10, gateway: ${ISP1_DOWN}, ${PROBE} }
  wan2: { interface: wan2, mode: backup, priority: 20, gateway: ${ISP2_DOWN}, ${PROBE} }
lan:
  - { interface: lan0, zone: lan }
`;

const say = (s: string) => console.log(`\n== ${s}`);

export const demo: Command = {
  summary: 'run uplinkd in a sandbox of network namespaces and show what it sees',
  options: { keep: { type: 'boolean', help: 'after the failover tour, keep the sandbox until Ctrl-C' } },
  async run({ opts }) {
    if (process.getuid?.() !== 0)
      throw new UplinkError('USAGE', 'the demo creates network namespaces and needs root', 'run it as root (sudo)');
    const lab = await Lab.create();
    try {
      say(`building the sandbox: namespaces ${lab.prefix}-{gw,isp1,isp2,inet,lan}`);
      const topo = await twoUplinkTopology(lab, { lanReturnVia: 'both' });
      const configFile = lab.tempFile('uplinkd.yaml', '');
      writeFileSync(configFile, labConfig(dirname(configFile), DEMO_UPLINKS));
      const d = await startDaemon(lab, topo.gw, '', { configFile });
      const mon = await monitor(d.socket);
      let shown = 0;
      const flush = () =>
        mon.events.slice(shown).forEach((e: DaemonEvent) => (console.log(`  ${formatEvent(e)}`), shown++));
      await waitFor(async () => (await d.status()).selection.selected === 'wan1', {
        timeoutMs: 10_000,
        what: 'wan1 selected',
      });
      say(`uplinkd is running in ${topo.gw.name} (config ${configFile})`);
      console.log(formatStatus(await d.status()));

      const via = async () => /\bdev (\S+)/.exec((await topo.gw.ip(['route', 'get', SERVER])).stdout)?.[1];
      const step = async (title: string, act: () => Promise<void>, want: string) => {
        say(title);
        const t0 = Date.now();
        await act();
        await waitFor(async () => (await via()) === want, { timeoutMs: 20_000, what: `traffic on ${want}` });
        await sleep(300);
        flush();
        console.log(`  -> the gateway's traffic to ${SERVER} leaves through ${want} (${Date.now() - t0} ms)`);
      };
      await step(
        'the fiber ISP (isp1) dies silently: the cable stays up, packets vanish',
        () => topo.blackhole('isp1'),
        'wan2',
      );
      await step(
        'isp1 comes back: traffic returns after 5 good probe rounds and the failback delay',
        () => topo.unblackhole('isp1'),
        'wan1',
      );
      await step('someone pulls the cable of wan1: carrier lost', () => topo.carrierDown('isp1'), 'wan2');
      await step('the cable is back', () => topo.carrierUp('isp1'), 'wan1');
      console.log(formatStatus(await d.status()));

      if (opts.keep === true) {
        say(`try: uplink --socket ${d.socket} status   |   ip netns exec ${topo.gw.name} ip route   (Ctrl-C to end)`);
        mon.events.length = 0;
        shown = 0;
        await new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          setInterval(flush, 250).unref();
        });
      }
      mon.close();
      if (!opts.keep === true) {
        const lab2 = await Lab.create();
        try {
          await demandTour(lab2);
        } finally {
          await lab2.teardown();
        }
      }
      say('done; tearing the sandbox down');
      return 0;
    } finally {
      await lab.teardown();
    }
  },
};
