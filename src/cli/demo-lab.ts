/**
 * The sandbox of `uplink demo`: the two-uplink lab (src/lab/topology.ts) with wan2 turned
 * into a line that must be dialed, uplinkd running in the gateway namespace with
 * examples/demo.yaml, and the daemon's dashboard relayed to the host's loopback.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { rpc } from '../control/client.js';
import { UplinkError } from '../errors.js';
import type { Lab } from '../lab/harness.js';
import { startDaemon, type RunningDaemon } from '../lab/daemon.js';
import { httpBridge } from '../lab/http-bridge.js';
import { twoUplinkTopology, type TwoUplinkTopology } from '../lab/topology.js';

const here = dirname(fileURLToPath(import.meta.url));
/** From dist/src/cli/ (the built CLI) up to the repository's examples/. */
export const DEMO_CONFIG = resolve(here, '../../../examples/demo.yaml');

export interface DemoLab {
  topo: TwoUplinkTopology;
  daemon: RunningDaemon;
  /** The dashboard on the host's loopback. */
  dashboard: string;
  /** A one-time login link for it (the page reads without one from loopback; actions need it). */
  login: string;
}

/**
 * examples/demo.yaml as it is, with the control paths moved into the lab's temp directory:
 * the demo never touches a real installation's socket or state.
 */
export function demoConfigText(text: string, dir: string): string {
  const doc = parseDocument(text);
  doc.setIn(['control', 'socket'], join(dir, 'uplinkd.sock'));
  doc.setIn(['control', 'state_dir'], join(dir, 'state'));
  doc.setIn(['control', 'run_dir'], join(dir, 'run'));
  return doc.toString();
}

function readDemoConfig(): string {
  if (!existsSync(DEMO_CONFIG))
    throw new UplinkError(
      'CONFIG_READ',
      `the demo's config ${DEMO_CONFIG} is missing`,
      'run the demo from a checkout of uplinkd (it needs examples/demo.yaml)',
    );
  return readFileSync(DEMO_CONFIG, 'utf8');
}

/**
 * wan2 stays a cable into isp2 but starts down and without an address: the connect command
 * in examples/demo.yaml "dials" by bringing it up, as pppd would create ppp0.
 */
async function undialed(topo: TwoUplinkTopology): Promise<void> {
  await topo.gw.ip(['link', 'set', 'dev', 'wan2', 'down']);
  await topo.gw.ip(['addr', 'flush', 'dev', 'wan2']);
}

export async function buildDemoLab(lab: Lab): Promise<DemoLab> {
  const text = readDemoConfig();
  const topo = await twoUplinkTopology(lab);
  await undialed(topo);
  const configFile = lab.tempFile('uplinkd.yaml', '');
  writeFileSync(configFile, demoConfigText(text, dirname(configFile)));
  const daemon = await startDaemon(lab, topo.gw, '', { configFile });
  const bridge = await httpBridge(lab, topo.gw);
  const { url } = (await rpc(daemon.socket, 'login')) as { url: string };
  const link = new URL(url);
  return { topo, daemon, dashboard: `${bridge.url}/`, login: `${bridge.url}${link.pathname}${link.search}` };
}
