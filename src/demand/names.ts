/** Names and addresses of demand proxies, from the config alone (pure). */
import type { Config } from '../config/schema.js';

/** Demand uplinks in config order, with their proxy interface and address. */
export function demandProxies(cfg: Config): { name: string; iface: string; address: string; uplinkIface: string }[] {
  return Object.entries(cfg.uplinks)
    .filter(([, u]) => u.mode === 'demand')
    .map(([name, u], i) => ({
      name,
      iface: u.proxy_interface ?? `dod-${name}`.slice(0, 15),
      address: u.proxy_address ?? `169.254.77.${1 + i}`,
      uplinkIface: u.interface,
    }));
}

export const DEFAULT_IDLE_MS = 5 * 60_000;
