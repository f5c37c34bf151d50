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
import { twoUplinkTopology, ISP1_DOWN, ISP2_DOWN } from '../lab/topology.js';
import type { DaemonEvent } from '../daemon/events.js';
import type { Command } from './commands.js';
import { formatEvent } from './monitor.js';
import { formatStatus } from './status.js';

const DEMO_UPLINKS = `uplinks:
  wan1: { interface: wan1, priority: 10, gateway: ${ISP1_DOWN} }
  wan2: { interface: wan2, mode: backup, priority: 20, gateway: ${ISP2_DOWN} }
lan:
  - { interface: lan0, zone: lan }
`;

const say = (s: string) => console.log(`\n== ${s}`);

export const demo: Command = {
  summary: 'run uplinkd in a sandbox of network namespaces and show what it sees ([--keep] to stay until Ctrl-C)',
  async run({ args }) {
    if (process.getuid?.() !== 0) throw new UplinkError('USAGE', 'the demo creates network namespaces and needs root', 'run it as root (sudo)');
    const lab = await Lab.create();
    try {
      say(`building the sandbox: namespaces ${lab.prefix}-{gw,isp1,isp2,inet,lan}`);
      const topo = await twoUplinkTopology(lab, { lanReturnVia: 'both' });
      const configFile = lab.tempFile('uplinkd.yaml', '');
      writeFileSync(configFile, labConfig(dirname(configFile), DEMO_UPLINKS));
      const d = await startDaemon(lab, topo.gw, '', { configFile });
      const mon = await monitor(d.socket);
      let shown = 0;
      const flush = () => mon.events.slice(shown).forEach((e: DaemonEvent) => (console.log('  ' + formatEvent(e)), shown++));
      await waitFor(async () => (await d.status()).defaultRoutes.length > 0, { what: 'the first reconcile' });
      say(`uplinkd is running in ${topo.gw.name} (config ${configFile})`);
      console.log(formatStatus(await d.status()));

      say('the fiber ISP (isp1) pulls the cable: wan1 loses carrier');
      await topo.carrierDown('isp1');
      await waitFor(async () => !(await d.status()).uplinks[0].link.carrier, { what: 'carrier loss' });
      await sleep(200);
      flush();
      say('the cable is back');
      await topo.carrierUp('isp1');
      await waitFor(async () => (await d.status()).uplinks[0].link.carrier, { what: 'carrier back' });
      await sleep(200);
      flush();

      if (args.includes('--keep')) {
        say(`try: uplink --socket ${d.socket} status   |   ip netns exec ${topo.gw.name} ip route   (Ctrl-C to end)`);
        mon.events.length = 0;
        shown = 0;
        await new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          setInterval(flush, 250).unref();
        });
      }
      mon.close();
      say('done; tearing the sandbox down');
      return 0;
    } finally {
      await lab.teardown();
    }
  },
};
