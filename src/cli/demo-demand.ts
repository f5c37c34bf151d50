/**
 * The dial-on-demand part of `uplink demo`: a gateway whose only uplink is a "modem" that
 * takes a second to dial. The LAN pings the internet server while the link is down; the
 * ping is held, the link dials, the ping is answered; then the link idles out.
 */
import { waitFor, type Lab } from '../lab/harness.js';
import { monitor, startDaemon } from '../lab/daemon.js';
import { demandConfig, demandTopology } from '../lab/demand.js';
import { SERVER } from '../lab/topology.js';
import { formatEvent } from './monitor.js';
import { formatStatus } from './status.js';

const say = (s: string) => console.log(`\n== ${s}`);

export async function demandTour(lab: Lab): Promise<void> {
  say(`dial on demand: a second sandbox, ${lab.prefix}-{gw,isp,inet,lan}, whose only uplink is a modem`);
  const topo = await demandTopology(lab);
  const d = await startDaemon(lab, topo.gw, demandConfig(topo, { idle: '5s' }));
  const mon = await monitor(d.socket);
  const via = async () => /\bdev (\S+)/.exec((await topo.gw.ip(['route', 'get', SERVER])).stdout)?.[1];
  console.log(`  the link is down; traffic to ${SERVER} goes to the proxy: ${await via()}`);
  say('the LAN client pings the internet server: the packet is held while the modem dials (1 s)');
  const ping = await topo.lan.exec(['ping', '-c1', '-W5', SERVER], { check: false });
  console.log(`  ${ping.stdout.split('\n').find((l) => l.includes('bytes from')) ?? 'no answer'}`);
  console.log(
    formatStatus(await d.status())
      .split('\n')
      .filter((l) => /dsl|demand|kept up|queue/.test(l))
      .join('\n'),
  );
  say('nothing more to send: the link idles out after 5 s and the proxy takes over again');
  await waitFor(async () => (await via()) === 'dod-dsl', { timeoutMs: 20_000, what: 'idle hang-up' });
  for (const e of mon.events.filter((x) => x.type === 'demand' || x.type === 'uplink'))
    console.log(`  ${formatEvent(e)}`);
  mon.close();
}
