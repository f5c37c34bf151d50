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

const parsed = new WeakMap<Config['demand'], DemandRule[]>();

/**
 * The demand rules in force: the config's, or the shipped defaults when it has none. Parsed
 * once per config (every reconcile run's desired() asks).
 */
export function demandRules(cfg: Config): DemandRule[] {
  let rules = parsed.get(cfg.demand);
  if (!rules) {
    rules = parseRules(cfg.demand.rules.length ? cfg.demand.rules : DEFAULT_RULES).rules;
    parsed.set(cfg.demand, rules);
  }
  return rules;
}
