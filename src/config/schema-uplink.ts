/** Schema of one uplink: interface, mode, probe, connect command, redial policy. */
import { z } from 'zod';
import { duration, durationType, formatDuration, positiveDuration } from './duration.js';
import { hinted } from './errors.js';
import { PROBE_METHODS, PROBE_PROFILE_NAMES } from './probe.js';
import { cidr, command, evenAfterChildErrors, ifname, ipAddress, ipv4Address, ipv6Address } from './types.js';

const isNum = (v: unknown): v is number => typeof v === 'number';

export const probeSchema = z
  .strictObject({
    profile: z
      .enum(PROBE_PROFILE_NAMES)
      .optional()
      .describe(
        'Timing profile: instant (50ms interval, 50ms timeout, 3 misses: BFD-class, declared down about 150ms after the last answer), fast (200ms interval, 150ms timeout, 3 misses: traffic moves within 1s), normal (2s/1s/3, the default: within 7s) or frugal (60s, re-checks after 2/4/8s, for metered links). Explicit keys override it.',
      ),
    method: z
      .enum(PROBE_METHODS)
      .optional()
      .describe('How to probe: icmp echo (default), tcp connect, http GET, or a dns query.'),
    targets: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'What to probe. icmp: IP addresses; tcp: IP:PORT ([v6]:PORT); http: URLs; dns: IP of a DNS server. No host names: probes must not depend on DNS. Default: the gateway.',
      ),
    reliability: z
      .int()
      .min(1)
      .optional()
      .describe('How many targets must answer for a round to pass (1..number of targets; default 1).'),
    interval: positiveDuration.optional().describe('Time between probe rounds (default from the profile).'),
    timeout: durationType({ min: 1, max: 60_000, why: 'an answer later than that is a lost probe' })
      .optional()
      .describe('How long a probe waits for an answer (at most 1m); at most interval.'),
    down_after: z.int().min(1).optional().describe('Failed rounds in a row before the uplink is judged down.'),
    up_after: z.int().min(1).optional().describe('Passed rounds in a row before the uplink is judged up again.'),
    query: z.string().min(1).optional().describe('dns method: the name to query (default ".").'),
  })
  .superRefine((p, ctx) => {
    if (isNum(p.timeout) && isNum(p.interval) && p.timeout > p.interval) {
      ctx.addIssue({
        code: 'custom',
        path: ['timeout'],
        input: p.timeout,
        message: hinted(
          `timeout ${formatDuration(p.timeout)} is longer than interval ${formatDuration(p.interval)}`,
          'a probe must time out by the time the next round is due; lower timeout or raise interval',
        ),
      });
    }
  }, evenAfterChildErrors)
  .describe('Health probing. Explicit keys override defaults.probe, which overrides the profile.');

export const redialSchema = z
  .strictObject({
    retries: z
      .int()
      .min(0)
      .optional()
      .describe(
        'Failed dials in a row before the uplink is blocked (0: block after the first failure). Omitted: re-dial forever.',
      ),
    backoff: positiveDuration.prefault('10s').describe('Wait before the first re-dial; doubles after each failure.'),
    max_backoff: positiveDuration.prefault('10m').describe('Upper bound of the doubling backoff.'),
    holdoff: duration
      .prefault('30s')
      .describe('Wait after the peer or the driver hung up, before dialing again (not applied after an idle hang-up).'),
    min_interval: duration.prefault(0).describe('Minimum time between the starts of two dials (default 0).'),
  })
  .superRefine((r, ctx) => {
    if (isNum(r.backoff) && isNum(r.max_backoff) && r.max_backoff < r.backoff) {
      ctx.addIssue({
        code: 'custom',
        path: ['max_backoff'],
        input: r.max_backoff,
        message: hinted(
          `max_backoff ${formatDuration(r.max_backoff)} is shorter than backoff ${formatDuration(r.backoff)}`,
          'max_backoff is the upper bound of the doubling backoff; make it at least backoff',
        ),
      });
    }
  }, evenAfterChildErrors)
  .describe('Re-dial policy for uplinks with a connect command.');

export const qualitySchema = z
  .strictObject({
    failure_loss: z
      .number()
      .min(0)
      .max(100)
      .default(20)
      .describe('Probe loss (percent, over the last 30 rounds) above which a passing uplink is degraded (default 20).'),
    recovery_loss: z
      .number()
      .min(0)
      .max(100)
      .default(5)
      .describe('Loss at or below which a degraded uplink is up again (default 5).'),
    failure_latency: positiveDuration
      .optional()
      .describe('Average probe RTT above which a passing uplink is degraded (default: off).'),
    recovery_latency: positiveDuration
      .optional()
      .describe('Average RTT at or below which a degraded uplink is up again (default: failure_latency).'),
  })
  .describe(
    'Quality thresholds, like mwan3 check_quality: a degraded uplink stays usable but ranks after healthy ones.',
  );

export const UPLINK_MODES = ['always', 'backup', 'demand', 'manual'] as const;
export type UplinkMode = (typeof UPLINK_MODES)[number];

export const uplinkSchema = z
  .strictObject({
    interface: ifname.describe(
      'Kernel interface of the uplink (1-15 characters, no /, : or spaces). Need not exist yet (e.g. ppp0).',
    ),
    mode: z
      .enum(UPLINK_MODES)
      .default('always')
      .describe(
        'always: kept up; backup: used when better uplinks fail; demand: dialed when traffic needs it (needs connect); manual: only by `uplink up`.',
      ),
    priority: z.int().min(0).max(65535).default(100).describe('Selection order, lower wins (default 100).'),
    gateway: ipAddress.optional().describe('Gateway address (IPv4 or IPv6). Optional; else learned from the kernel.'),
    gateway6: ipv6Address
      .optional()
      .describe('IPv6 gateway, when gateway is IPv4. Optional; else learned from the kernel.'),
    ipv6_prefixes: z
      .array(cidr)
      .optional()
      .describe(
        "IPv6 prefixes this uplink's ISP routes to you (a delegated or assigned LAN prefix). Only for the warning when an uplink carries LAN IPv6 from a prefix its ISP does not route.",
      ),
    address: z
      .union([z.literal('dhcp'), cidr])
      .optional()
      .describe(
        "Static address with prefix length (e.g. 198.51.100.2/24), or dhcp: uplinkd runs a DHCP client (busybox udhcpc) on the interface and puts the leased address on it and the leased gateway into the uplink's own table. Optional; else whatever the interface has.",
      ),
    snat: ipv4Address
      .optional()
      .describe(
        'IPv4 source address for flows leaving through this uplink (SNAT) instead of masquerade, for static uplinks. When traffic moves off this uplink, the flows pinned to this address are removed from conntrack so they continue through the new uplink.',
      ),
    probe: probeSchema.optional(),
    connect: command
      .optional()
      .describe(
        'Command that brings the link up (supervised, e.g. "pppd call isp nodetach"). The uplink is selectable once the interface has carrier and an address.',
      ),
    disconnect: command.optional().describe('Command that hangs up (default: stop the connect process).'),
    idle: duration
      .optional()
      .describe(
        'Hang up a dialed link after this long without traffic that demand rules accept (demand mode; default 5m). 0: never.',
      ),
    min_up: duration
      .optional()
      .describe('A dialed link stays up at least this long before an idle hang-up (billing units).'),
    max_up: positiveDuration
      .optional()
      .describe(
        'Demand mode: hang up after the link has been up this long, traffic or not (the next packet dials again).',
      ),
    proxy_interface: ifname
      .optional()
      .describe('Demand mode: name of the proxy TUN (default dod-NAME, cut to 15 characters).'),
    proxy_address: ipv4Address
      .optional()
      .describe(
        'Demand mode: IPv4 address of the proxy TUN, as a /32 (default 169.254.77.N, N = 1 + position among the demand uplinks).',
      ),
    max_connect: positiveDuration
      .optional()
      .describe('Give up a dial when the link has no carrier and address after this long.'),
    redial: redialSchema.prefault({}),
    failback_delay: duration
      .prefault('10s')
      .describe(
        'After this uplink is judged up again, wait this long before moving traffic back to it (default 10s). Never delays leaving a dead uplink.',
      ),
    quality: qualitySchema.prefault({}),
    table: z
      .int()
      .min(1)
      .max(0xffffffff)
      .optional()
      .describe(
        "This uplink's routing table. Default: the next free of table_base+1, table_base+2... in config order. Must lie in our range (control.kernel) and not be shared.",
      ),
    weight: z
      .int()
      .min(1)
      .max(1000)
      .optional()
      .describe(
        'Share of new flows when several uplinks share a priority. Declared but inert: load balancing comes in a later release.',
      ),
  })
  .superRefine((u, ctx) => {
    const hasConnect = typeof u.connect === 'string';
    if (u.mode === 'demand' && !hasConnect) {
      ctx.addIssue({
        code: 'custom',
        path: ['mode'],
        input: u.mode,
        message: hinted(
          'mode demand needs a connect command',
          'add connect: "COMMAND" (e.g. "pppd call isp nodetach"), or use mode always for an interface that is always there',
        ),
      });
    }
    if (u.address === 'dhcp' && hasConnect) {
      ctx.addIssue({
        code: 'custom',
        path: ['address'],
        input: u.address,
        message: hinted(
          'address dhcp is for interface uplinks, not for uplinks with a connect command',
          'let the connect command obtain the address (pppd does), or drop connect',
        ),
      });
    }
    if (u.address === 'dhcp' && u.snat !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['snat'],
        input: u.snat,
        message: hinted(
          'snat needs a static address, and this uplink gets its address by DHCP',
          'remove snat (DHCP uplinks are masqueraded)',
        ),
      });
    }
    if (u.disconnect !== undefined && u.connect === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['disconnect'],
        input: u.disconnect,
        message: hinted('disconnect without connect', 'add the connect command, or remove disconnect'),
      });
    }
  }, evenAfterChildErrors)
  .describe('One uplink.');

export type UplinkConfig = z.output<typeof uplinkSchema>;
export type ProbeConfig = z.output<typeof probeSchema>;
