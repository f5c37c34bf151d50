/** Whether the firewall is managed, and everything its ruleset depends on (pure). */
import type { Config } from '../config/schema.js';
import { demandProxies, demandRules } from '../config/demand.js';
import { ingressMark } from '../routing/desired.js';
import { DEFAULT_ROUTED_FALLBACK } from '../config/schema-sections.js';
import type { FirewallInput } from './render.js';

/**
 * The table is managed when the config asks for it (`firewall.enabled`), else whenever
 * something needs it: a LAN to masquerade, forwards, input opens, a fixed SNAT address, or
 * a demand uplink (its proxy needs notrack rules).
 */
export function firewallEnabled(cfg: Config): boolean {
  const snat = Object.values(cfg.uplinks).some((u) => u.snat !== undefined);
  const demand = Object.values(cfg.uplinks).some((u) => u.mode === 'demand');
  return (
    cfg.firewall.enabled ??
    (cfg.lan.length > 0 ||
      cfg.forwards.length > 0 ||
      cfg.firewall.input.length > 0 ||
      cfg.firewall.forward.length > 0 ||
      snat ||
      demand)
  );
}

/** Everything the ruleset depends on (pure). */
export function firewallInput(cfg: Config, generation: number, wanAddrs4: string[] = []): FirewallInput {
  const k = cfg.control.kernel;
  return {
    uplinks: Object.entries(cfg.uplinks).map(([name, u], index) => ({
      name,
      iface: u.interface,
      mark: ingressMark(k, index),
      ...(u.snat ? { snat: u.snat } : {}),
      ...(u.address === 'dhcp' ? { dhcp: true } : {}),
    })),
    zones: cfg.lan.map((l) => ({ iface: l.interface, zone: l.zone })),
    routed: cfg.lan.flatMap((l, lan) =>
      l.routed && l.via
        ? [
            {
              lan,
              iface: l.interface,
              prefixes: l.routed,
              via: l.via.flatMap((name) => {
                const u = cfg.uplinks[name];
                return u ? [{ name, iface: u.interface }] : [];
              }),
              fallback: l.fallback ?? DEFAULT_ROUTED_FALLBACK,
            },
          ]
        : [],
    ),
    forwardOpens: cfg.firewall.forward,
    forwards: cfg.forwards,
    input: cfg.firewall.input,
    mssClamp: cfg.firewall.mss_clamp,
    fwmarkMask: k.fwmark_mask >>> 0,
    probeMark: k.fwmark >>> 0,
    generation,
    wanAddrs4,
    demand: {
      uplinks: demandProxies(cfg).map((p) => ({
        name: p.name,
        iface: p.uplinkIface,
        proxy: p.iface,
        idleMs: p.idleMs,
      })),
      rules: demandRules(cfg),
      fwmarkMask: k.fwmark_mask >>> 0,
    },
  };
}
