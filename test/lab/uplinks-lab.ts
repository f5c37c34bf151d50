/** Shared pieces of the uplink lab tests: the gateway config and probes of the kernel's own choice. */
import type { Ns } from '../../src/lab/harness.js';
import { ISP1_DOWN, ISP2_DOWN, SERVER } from '../../src/lab/topology.js';

export function twoUplinkConfig(
  o: { failback?: string; extra?: string; control?: string; profile?: string } = {},
): string {
  const probe = `probe: { profile: ${o.profile ?? 'fast'}, targets: [${SERVER}] }`;
  return `${o.control ?? ''}uplinks:
  wan1: { interface: wan1, priority: 10, gateway: ${ISP1_DOWN}, ${probe}, failback_delay: ${o.failback ?? '2s'} }
  wan2: { interface: wan2, mode: backup, priority: 20, gateway: ${ISP2_DOWN}, ${probe}, failback_delay: ${o.failback ?? '2s'} }
${o.extra ?? ''}`;
}

/** The interface the kernel would send a packet to `dst` out of (docs/uplinks.md: judge by `ip route get`). */
export async function routeDev(ns: Ns, dst: string, from?: string): Promise<string | undefined> {
  const r = await ns.ip(['route', 'get', dst, ...(from ? ['from', from] : [])], { check: false });
  return /\bdev (\S+)/.exec(r.stdout)?.[1];
}

/** nft packet counters by name in a namespace (`table inet lab_count`). */
export async function countersIn(
  ns: Ns,
  rules: Record<string, string>,
): Promise<() => Promise<Record<string, number>>> {
  const body =
    Object.entries(rules)
      .map(([name]) => `  counter ${name} {}\n`)
      .join('') +
    '  chain c { type filter hook prerouting priority -500;\n' +
    Object.entries(rules)
      .map(([name, match]) => `    ${match} counter name ${name}\n`)
      .join('') +
    '  }\n';
  await ns.nft(`table inet lab_count {\n${body}}\n`);
  return async () => {
    const out: Record<string, number> = {};
    const j = JSON.parse((await ns.exec(['nft', '-j', 'list', 'counters', 'table', 'inet', 'lab_count'])).stdout) as {
      nftables: { counter?: { name: string; packets: number } }[];
    };
    for (const e of j.nftables) if (e.counter) out[e.counter.name] = e.counter.packets;
    return out;
  };
}
