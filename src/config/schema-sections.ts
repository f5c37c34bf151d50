/**
 * Schemas of the sections beside uplinks: lan, forwards, demand, hooks (the schedule, jobs,
 * announce and notify have their own files).
 */
import { z } from 'zod';
import { positiveDuration } from './duration.js';
import { hinted } from './errors.js';
import { checkCidr, checkForwardHost, checkIp, checkIpPort, isIP, isIPv6, parseHostPort } from './net.js';
import { isNetworkForm, overlap4, prefix4, prefixText } from './prefix4.js';
import { parseRule, RuleError } from './demand-rules.js';
import { absolutePath, checked, cidr, evenAfterChildErrors, ifname } from './types.js';

export const ZONE_RE = /^[a-z][a-z0-9_-]*$/;
export const zoneName = z
  .string()
  .regex(ZONE_RE, {
    error: (iss) =>
      hinted(
        `${JSON.stringify(iss.input)} is not a valid zone name`,
        'zone names start with a lowercase letter and use only a-z, 0-9, _ and -',
      ),
  })
  .refine((z) => z !== 'wan', {
    error: hinted('zone "wan" is reserved for the uplinks', 'name the LAN zone something else, e.g. lan or dmz'),
  });

/** When no `via` uplink is usable: what a routed prefix's outbound traffic does (docs/firewall.md). */
export const ROUTED_FALLBACKS = ['masquerade', 'drop'] as const;
/**
 * The default: the servers' outbound traffic (updates, DNS, outgoing mail) keeps working under
 * the selected uplink's address; inbound to the public addresses is lost either way.
 */
export const DEFAULT_ROUTED_FALLBACK = 'masquerade';

const MIN_ROUTED_LEN = 8;
/** Blocks no ISP routes to a customer. */
const NOT_ROUTABLE: [string, string][] = [
  ['0.0.0.0/8', '"this network"'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved, with the broadcast address'],
];

/** A public IPv4 prefix routed to the gateway, in network form (the kernel stores rules that way). */
export function checkRoutedPrefix(s: string): string | undefined {
  const bad = checkCidr(s);
  if (bad) return bad;
  if (isIPv6(s.split('/')[0]!))
    return hinted(
      `routed prefix ${JSON.stringify(s)} is IPv6`,
      'routed prefixes are IPv4 for now; IPv6 LAN prefixes are routed without NAT already (docs/uplinks.md, "IPv6 and failover")',
    );
  if (!isNetworkForm(s))
    return hinted(
      `routed prefix ${JSON.stringify(s)} has host bits set`,
      `write the network: ${prefixText(prefix4(s))}`,
    );
  const p = prefix4(s);
  if (p.len < MIN_ROUTED_LEN)
    return hinted(
      `routed prefix ${s} is shorter than /${MIN_ROUTED_LEN}`,
      'a routed block is what your ISP routes to you (e.g. a /29 or /27): everything else would leave un-NATed',
    );
  const special = NOT_ROUTABLE.find(([net]) => overlap4(p, prefix4(net)));
  if (special)
    return hinted(
      `routed prefix ${s} overlaps ${special[0]} (${special[1]})`,
      'routed prefixes are unicast blocks an ISP routes to you',
    );
  return undefined;
}
export const routedPrefix = checked(checkRoutedPrefix);

export const lanSchema = z
  .strictObject({
    interface: ifname.describe('LAN interface (1-15 characters, no /, : or spaces).'),
    zone: zoneName.describe('Zone of the interface (e.g. lan, dmz); "wan" is reserved for uplinks.'),
    routed: z
      .array(routedPrefix)
      .min(1)
      .optional()
      .describe(
        'Public IPv4 prefixes on this interface that your ISP routes to you: they keep their addresses (not masqueraded) out of the via uplinks.',
      ),
    via: z
      .array(z.string())
      .min(1)
      .optional()
      .describe(
        'The uplink(s) whose ISP routes the routed prefixes (always or backup uplinks); the best usable one carries them.',
      ),
    fallback: z
      .enum(ROUTED_FALLBACKS)
      .optional()
      .describe(
        `When no via uplink is usable: masquerade (the default: outbound goes on through the selected uplink under its address) or drop.`,
      ),
  })
  .superRefine((l, ctx) => {
    const bad = (key: 'via' | 'fallback', message: string, hint: string) =>
      ctx.addIssue({ code: 'custom', path: [key], input: l[key], message: hinted(message, hint) });
    if (l.routed && !l.via)
      bad('via', 'routed prefixes need via', 'name the uplink(s) whose ISP routes them, e.g. via: [isp1]');
    if (!l.routed) {
      if (l.via) bad('via', 'via without routed prefixes', 'add routed: [PREFIX], or remove via');
      if (l.fallback) bad('fallback', 'fallback without routed prefixes', 'add routed: [PREFIX], or remove fallback');
    }
  }, evenAfterChildErrors)
  .describe('A LAN interface: traffic from it is masqueraded out of the uplinks, except from its routed prefixes.');

/** A port (80) or a range ("8000-8100"). */
export const portOrRange = z
  .union([z.int(), z.string()], {
    error: (iss) =>
      hinted(`${JSON.stringify(iss.input)} is not a port`, 'write a port like 80 or a range like "8000-8100"'),
  })
  .superRefine((v, ctx) => {
    const bad = (message: string, hint: string) =>
      ctx.addIssue({ code: 'custom', input: v, message: hinted(message, hint) });
    if (typeof v === 'number') {
      if (v < 1 || v > 65535) bad(`port ${v} is out of range`, 'ports are 1..65535');
      return;
    }
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(v);
    if (!m)
      return bad(
        `${JSON.stringify(v)} is not a port or port range`,
        'write a port like 80 or a range like "8000-8100"',
      );
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (first < 1 || last > 65535) return bad(`port range ${JSON.stringify(v)} is out of range`, 'ports are 1..65535');
    if (first > last) return bad(`port range ${JSON.stringify(v)} is backwards`, `write "${last}-${first}"`);
  });

/** First and last port of a validated `port` value. */
export function portRange(p: number | string): { first: number; last: number } {
  if (typeof p === 'number') return { first: p, last: p };
  const [a, b] = p.split('-').map((s) => Number(s.trim()));
  return { first: a!, last: b ?? a! };
}

export const forwardSchema = z
  .strictObject({
    proto: z.enum(['tcp', 'udp']).describe('tcp or udp.'),
    port: portOrRange.describe('Port or range ("8000-8100") arriving on the uplinks.'),
    to: checked((s) => {
      const bad = isIP(s) ? undefined : checkIpPort(s, 'forward target');
      return bad ?? checkForwardHost(isIP(s) ? s : parseHostPort(s)!.host);
    }).describe('Where to send it: "IP:PORT" ([v6]:PORT), or just "IP" to keep the port.'),
    uplink: z
      .union([z.string(), z.array(z.string()).min(1)])
      .optional()
      .describe('Only on this uplink (or list of uplinks); default all.'),
    zone: z
      .string()
      .optional()
      .describe('Also reflect the forward into this LAN zone (hairpin); must be a configured lan zone.'),
    from: z.array(cidr).min(1).optional().describe('Only from these source CIDRs.'),
  })
  .describe('A port forward (DNAT) from the uplinks to a LAN host.');

export const inputOpenSchema = z
  .strictObject({
    proto: z.enum(['tcp', 'udp']).describe('tcp or udp.'),
    port: portOrRange.describe('Port or range ("60000-61000") on the gateway.'),
    from: z
      .array(cidr)
      .min(1)
      .optional()
      .describe('Only from these source CIDRs (e.g. a management address); default anywhere.'),
  })
  .describe('A service on the gateway reachable from the uplinks.');

/** `firewall.forward[].to`: one address, or a network (CIDR) in network form (nft would widen host bits). */
const forwardDestination = checked((s) => {
  if (!s.includes('/')) return checkIp(s);
  const bad = checkCidr(s);
  if (bad || isIPv6(s.split('/')[0]!) || isNetworkForm(s)) return bad;
  return hinted(
    `${JSON.stringify(s)} has host bits set`,
    `write the address alone, or the network ${prefixText(prefix4(s))}`,
  );
});

export const forwardOpenSchema = z
  .strictObject({
    proto: z.enum(['tcp', 'udp']).describe('tcp or udp.'),
    port: portOrRange.describe('Port or range ("8000-8100") on the destination.'),
    to: forwardDestination.describe(
      'The server: an address (203.0.113.70) or a network (203.0.113.64/28), in a routed prefix.',
    ),
    from: z.array(cidr).min(1).optional().describe('Only from these source CIDRs; default any source.'),
  })
  .superRefine((o, ctx) => {
    // Runs after child errors too: any value may be malformed here.
    const fam = (s: unknown) => (typeof s === 'string' ? isIP(s.split('/')[0]!) : 0);
    const to = fam(o.to);
    (Array.isArray(o.from) ? o.from : []).forEach((f, j) => {
      if (to && fam(f) && fam(f) !== to)
        ctx.addIssue({
          code: 'custom',
          path: ['from', j],
          input: f,
          message: hinted(
            `from ${f} is IPv${fam(f)}, but to ${o.to} is IPv${to}`,
            'list sources of the same family as to',
          ),
        });
    });
  }, evenAfterChildErrors)
  .describe('A service on a routed public address opened to the uplinks (the forwarded twin of firewall.input).');

export const firewallSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .optional()
      .describe(
        'Manage table inet uplinkd (default: when lan, forwards, firewall.input or an uplink snat is configured).',
      ),
    input: z
      .array(inputOpenSchema)
      .default([])
      .describe(
        'What the uplinks may reach on the gateway itself; everything else from them is dropped (ICMP and replies pass).',
      ),
    forward: z
      .array(forwardOpenSchema)
      .default([])
      .describe(
        'What the uplinks may reach on routed public addresses behind the gateway; everything else from them is dropped (ICMP errors, echo requests and replies pass).',
      ),
    mss_clamp: z
      .boolean()
      .default(true)
      .describe('Clamp TCP MSS to the route MTU on the uplinks (PPPoE, LTE and VPN links need it).'),
  })
  .describe('Firewall and NAT, rendered into table inet uplinkd on every change.');

export const demandQueueSchema = z
  .strictObject({
    max_bytes: z
      .int()
      .min(1500)
      .max(256 * 1024 * 1024)
      .default(2 * 1024 * 1024)
      .describe('Bytes of packets held while dialing, per uplink (default 2 MiB); when full, the oldest go first.'),
    max_age: positiveDuration
      .prefault('30s')
      .describe('Held packets older than this are dropped (default 30s; at least 10s, the time a dial may take).'),
  })
  .superRefine((q, ctx) => {
    if (typeof q.max_age === 'number' && q.max_age < 10_000) {
      ctx.addIssue({
        code: 'custom',
        path: ['max_age'],
        input: q.max_age,
        message: hinted('max_age is shorter than 10s', 'queued packets must survive a dial; use 10s or more'),
      });
    }
  }, evenAfterChildErrors)
  .describe('The hold-and-replay queue of packets that arrive while a demand uplink is dialing.');

export const demandSchema = z
  .strictObject({
    rules: z
      .array(
        z
          .string()
          .trim()
          .min(1)
          .superRefine((text, ctx) => {
            try {
              parseRule(text);
            } catch (e) {
              if (!(e instanceof RuleError)) throw e;
              ctx.addIssue({
                code: 'custom',
                input: text,
                message: hinted(`column ${e.column}: ${e.message} in "${text}"`, e.hint),
              });
            }
          }),
      )
      .default([])
      .describe(
        'Demand rules in order, e.g. "ignore udp port 123", "accept tcp syn 30s", "accept any"; the first match decides. Empty: the shipped defaults (docs/demand.md).',
      ),
    queue: demandQueueSchema.prefault({}),
  })
  .describe('Which traffic dials a demand uplink and keeps it up, and how packets are held while it dials.');

export const hooksSchema = z
  .strictObject({
    dir: absolutePath()
      .default('/etc/uplinkd/hooks.d')
      .describe('Directory of hook executables, run in name order (default /etc/uplinkd/hooks.d).'),
    timeout: positiveDuration
      .prefault('30s')
      .describe("A hook's process group is killed after this long (default 30s)."),
    ip_up_dir: absolutePath()
      .optional()
      .describe(
        "pppd-style: on an uplink's up event, also run this directory's scripts with pppd's arguments (e.g. /etc/ppp/ip-up.d); off by default.",
      ),
    ip_down_dir: absolutePath()
      .optional()
      .describe("pppd-style: on an uplink's down event, also run this directory's scripts (e.g. /etc/ppp/ip-down.d)."),
  })
  .describe('Hook scripts run on uplink events (docs/hooks.md).');
