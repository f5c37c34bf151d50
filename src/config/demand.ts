/** What the config says about demand uplinks, with the defaults filled in (pure). */
import type { Config, UplinkConfig } from './schema.js';
import { DEFAULT_RULES, parseRules, type DemandRule } from './demand-rules.js';
import { DEFAULT_IDLE_MS, defaultProxyAddress, defaultProxyName } from './demand-defaults.js';

/** An uplink's idle time (0: never hang up). */
export const idleMs = (u: Pick<UplinkConfig, 'idle'>): number => u.idle ?? DEFAULT_IDLE_MS;

/** Demand uplinks in config order, with their proxy interface and address. */
export function demandProxies(
  cfg: Config,
): { name: string; iface: string; address: string; uplinkIface: string; idleMs: number }[] {
  return Object.entries(cfg.uplinks)
    .filter(([, u]) => u.mode === 'demand')
    .map(([name, u], i) => ({
      name,
      iface: u.proxy_interface ?? defaultProxyName(name),
      address: u.proxy_address ?? defaultProxyAddress(1 + i),
      uplinkIface: u.interface,
      idleMs: idleMs(u),
    }));
}

/** The demand rules in force: the config's, or the shipped defaults when it has none. */
export function demandRules(cfg: Config): DemandRule[] {
  return parseRules(cfg.demand.rules.length ? cfg.demand.rules : DEFAULT_RULES).rules;
}
