/**
 * `uplink check FILE`: validate a config offline; the interfaces need not exist. Run on the
 * gateway itself, it also warns about what the machine's addresses show cannot work (a
 * forward to no LAN network, LAN IPv6 through an uplink whose ISP does not route its prefix).
 */
import { loadConfigFile } from '../config/load.js';
import { ConfigError } from '../config/errors.js';
import type { Config } from '../config/schema.js';
import { configWarnings, isGlobal6, type ConfigWarning } from '../reconcile/warnings.js';
import { readAddresses } from '../system/addresses.js';
import type { Command } from './args.js';

/** Warnings against this machine's addresses; none when its LAN interfaces are not here. */
async function localWarnings(cfg: Config): Promise<{ warnings: ConfigWarning[]; note?: string }> {
  const addrs = await readAddresses().catch(() => undefined);
  const here = new Set(addrs?.map((a) => a.ifname));
  const missing = cfg.lan.map((l) => l.interface).filter((i) => !here.has(i));
  if (!addrs || (cfg.lan.length && missing.length === cfg.lan.length))
    return {
      warnings: [],
      note: cfg.lan.length ? `not checked against LAN networks: ${missing.join(', ')} not on this machine` : undefined,
    };
  // Offline, an uplink may carry IPv6 when it has a global IPv6 address or an IPv6 gateway.
  const carriers = Object.entries(cfg.uplinks)
    .filter(
      ([, u]) =>
        u.gateway6 ||
        u.gateway?.includes(':') ||
        addrs.some((a) => a.ifname === u.interface && a.family === 6 && isGlobal6(a.address)),
    )
    .map(([n]) => n);
  return { warnings: configWarnings(cfg, addrs, carriers) };
}

export const check: Command = {
  summary: 'validate a config file (exit 1 with file:line:col errors)',
  args: ['FILE'],
  async run({ args, json }) {
    const file = args[0]!;
    try {
      const cfg = await loadConfigFile(file);
      const { warnings, note } = await localWarnings(cfg);
      if (json) {
        console.log(JSON.stringify({ file, ok: true, uplinks: Object.keys(cfg.uplinks), warnings }));
        return 0;
      }
      for (const w of warnings)
        console.error(`${file}: warning: ${w.path}: ${w.message}${w.hint ? ` — ${w.hint}` : ''}`);
      if (note) console.error(`${file}: ${note}`);
      console.log(
        `${file}: ok (${Object.keys(cfg.uplinks).length} uplink(s))${warnings.length ? `, ${warnings.length} warning(s)` : ''}`,
      );
      return 0;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      if (json) return (console.log(JSON.stringify({ file, ok: false, problems: e.problems })), 1);
      // One problem a line, as compilers print them, so editors can jump to each.
      console.error(e.message);
      console.error(`${e.problems.length} problem(s); nothing was applied`);
      return 1;
    }
  },
};
