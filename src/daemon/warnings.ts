/**
 * Keeps the config warnings (reconcile/warnings.ts) current: recomputed only when the config,
 * the addresses or the IPv6 carriers change, each new one logged once at warn, all shown in
 * status.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { configWarnings, type ConfigWarning, type IfAddr } from '../reconcile/warnings.js';
import type { WorldState } from '../world/state.js';

export function worldAddrs(w: WorldState): IfAddr[] {
  const out: IfAddr[] = [];
  for (const a of w.addrs.values()) {
    const l = w.links.get(a.index);
    if (l) out.push({ ifname: l.name, family: a.family, address: a.address, prefixlen: a.prefixlen });
  }
  return out;
}

export class WarningWatch {
  private key?: string;
  private cfg?: Config;
  current: ConfigWarning[] = [];

  constructor(private readonly log: Logger) {}

  update(cfg: Config, world: WorldState, ipv6Carriers: string[]): void {
    const addrs = worldAddrs(world);
    const key = JSON.stringify([addrs, ipv6Carriers]);
    if (cfg === this.cfg && key === this.key) return;
    const seen = new Set(this.current.map((w) => w.message));
    this.cfg = cfg;
    this.key = key;
    this.current = configWarnings(cfg, addrs, ipv6Carriers);
    for (const w of this.current)
      if (!seen.has(w.message)) this.log.warn({ path: w.path, hint: w.hint }, `config: ${w.message}`);
  }
}
