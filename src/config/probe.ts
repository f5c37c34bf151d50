/**
 * Probe profiles and the effective probe of an uplink: explicit keys of the uplink's
 * `probe` override `defaults.probe`, which overrides the profile's values.
 * With no probe section an uplink probes its gateway with icmp at the `normal` profile.
 */
import { hinted } from './errors.js';
import { isIP, isIPv4, looksLikeHostname, parseHostPort, checkUrl } from './net.js';

export const PROBE_METHODS = ['icmp', 'tcp', 'http', 'dns'] as const;
export type ProbeMethod = (typeof PROBE_METHODS)[number];
export const PROBE_PROFILE_NAMES = ['instant', 'fast', 'normal', 'frugal'] as const;
export type ProbeProfileName = (typeof PROBE_PROFILE_NAMES)[number];

export interface ProbeProfile {
  /** Time between probe rounds, ms. */
  interval: number;
  /** Time a probe waits for an answer, ms. */
  timeout: number;
  /** Failed rounds in a row before the uplink is judged down. */
  down_after: number;
  /** Passed rounds in a row before a down uplink is judged up again. */
  up_after: number;
  /** Delays (ms) of re-checks after a failed round, each no later than one interval. */
  recheck: readonly number[];
}

/** The profiles. `frugal` re-checks a failed round after 2, 4 and 8 s (slip-check's schedule). */
export const PROBE_PROFILES: Readonly<Record<ProbeProfileName, ProbeProfile>> = {
  // instant: BFD's 3 × 50 ms. Rounds go back to back (a lost probe times out as the next is
  // due), so a silent death is judged 3 misses after the last answer: about 150-200 ms.
  // Coming back takes 10 good rounds (0.5 s): hysteresis on the way back only.
  instant: { interval: 50, timeout: 50, down_after: 3, up_after: 10, recheck: [] },
  // fast: a silent death is judged within 3 × 200 ms + 150 ms, traffic moves well under 1 s.
  fast: { interval: 200, timeout: 150, down_after: 3, up_after: 5, recheck: [] },
  // normal: worst case 3 × 2 s + 1 s = 7 s from silent death to the backup.
  normal: { interval: 2_000, timeout: 1_000, down_after: 3, up_after: 3, recheck: [] },
  frugal: { interval: 60_000, timeout: 5_000, down_after: 3, up_after: 2, recheck: [2_000, 4_000, 8_000] },
};

export const DEFAULT_DNS_QUERY = '.';

/** A probe block as it comes out of the schema (every key optional). */
export interface ProbeBlock {
  profile?: ProbeProfileName | undefined;
  method?: ProbeMethod | undefined;
  targets?: string[] | undefined;
  reliability?: number | undefined;
  interval?: number | undefined;
  timeout?: number | undefined;
  down_after?: number | undefined;
  up_after?: number | undefined;
  query?: string | undefined;
}

export interface ResolvedProbe extends ProbeProfile {
  profile: ProbeProfileName;
  method: ProbeMethod;
  /** Targets; empty means "the gateway learned from the kernel". */
  targets: string[];
  reliability: number;
  /** For `dns`: the name queried. */
  query: string;
}

/** The effective probe of an uplink. */
export function resolveProbe(
  probe: ProbeBlock | undefined,
  defaults: ProbeBlock | undefined,
  gateway?: string,
): ResolvedProbe {
  const pick = <K extends keyof ProbeBlock>(k: K): ProbeBlock[K] => probe?.[k] ?? defaults?.[k];
  const profile = pick('profile') ?? 'normal';
  const base = PROBE_PROFILES[profile];
  const targets = pick('targets') ?? (gateway !== undefined ? [gateway] : []);
  return {
    profile,
    method: pick('method') ?? 'icmp',
    targets: [...targets],
    reliability: pick('reliability') ?? 1,
    interval: pick('interval') ?? base.interval,
    timeout: pick('timeout') ?? base.timeout,
    down_after: pick('down_after') ?? base.down_after,
    up_after: pick('up_after') ?? base.up_after,
    recheck: base.recheck,
    query: pick('query') ?? DEFAULT_DNS_QUERY,
  };
}

const NO_DNS = 'probes must not depend on DNS (it may go through the dead uplink)';
const q = (s: string): string => JSON.stringify(s);

/** Checks one probe target for a method; a hinted message when it is wrong. */
export function checkProbeTarget(method: ProbeMethod, t: string): string | undefined {
  const hp = parseHostPort(t);
  const ipWithPort = hp !== undefined && isIP(hp.host) !== 0 && (isIPv4(hp.host) || t.startsWith('['));
  const hostname = looksLikeHostname(t) || (hp !== undefined && looksLikeHostname(hp.host));
  switch (method) {
    case 'icmp':
      if (isIP(t)) return undefined;
      if (ipWithPort) return hinted(`icmp target ${q(t)} has a port`, `write just the address: ${hp!.host}`);
      if (hostname) return hinted(`icmp target ${q(t)} is a host name`, `${NO_DNS}; write an IP address`);
      return hinted(`icmp target ${q(t)} is not an IP address`, 'write an address like 198.51.100.1');
    case 'tcp':
      if (ipWithPort) return undefined;
      if (hostname)
        return hinted(`tcp target ${q(t)} is a host name`, `${NO_DNS}; write IP:PORT, e.g. 198.51.100.1:443`);
      if (isIP(t)) return hinted(`tcp target ${q(t)} has no port`, `write ${isIPv4(t) ? t : `[${t}]`}:PORT, e.g. :443`);
      return hinted(`tcp target ${q(t)} is not IP:PORT`, 'write e.g. 198.51.100.1:443 or [2001:db8::1]:443');
    case 'http': {
      const bad = checkUrl(t);
      if (bad === undefined) return undefined;
      return hinted(`http target ${q(t)} is not an http(s) URL`, 'write e.g. http://198.51.100.1/health');
    }
    case 'dns':
      if (isIP(t) || ipWithPort) return undefined;
      if (hostname) return hinted(`dns target ${q(t)} is a host name`, `${NO_DNS}; write the DNS server's IP address`);
      return hinted(`dns target ${q(t)} is not an IP address`, "write the DNS server's address, e.g. 198.51.100.53");
  }
}
