/** An `address: dhcp` uplink's client, as the manager drives it on each judgement and at the end. */
import type { Logger } from 'pino';
import type { System } from '../system/system.js';
import type { WorldState } from '../world/state.js';
import type { Uplink } from './uplink.js';
import { addrSpec } from '../routing/desired.js';

/**
 * Per judgement: the client runs while its interface exists, and the uplink's `dhcpWant` is
 * what its lease wants on the link. True: the state file must change (a new pid, or owned
 * addresses).
 */
export function dhcpDesired(u: Uplink, w: WorldState): boolean {
  const c = u.dhcp;
  if (!c) return false;
  const index = u.facts.index;
  const mine = [...w.addrs.values()].filter((a) => a.index === index);
  const pid = c.saved().pid;
  c.ensure(u.facts.present, (address) => mine.some((a) => a.address === address));
  const { want, changed } = c.desired((cidr) => mine.some((a) => `${a.address}/${a.prefixlen}` === cidr));
  u.dhcpWant = want;
  return changed || c.saved().pid !== pid;
}

/** An `address: dhcp` uplink going for good: release the lease, stop the client, take its addresses off. */
export async function releaseDhcp(u: Uplink, system: System, log: Logger): Promise<void> {
  if (!u.dhcp) return;
  await u.dhcp.stop(true);
  const ops = u.dhcp.ownedAddresses().map((cidr) => ({ op: 'del' as const, addr: addrSpec(cidr, u.cfg.interface) }));
  if (ops.length)
    await system.apply(ops).catch((e) => log.warn({ uplink: u.name, err: e }, 'cannot remove the DHCP address'));
}
