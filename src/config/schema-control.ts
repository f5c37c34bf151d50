/** Schema of `control`: socket, state dir, HTTP listener and our kernel object ranges. */
import { z } from 'zod';
import { durationType } from './duration.js';
import { hinted } from './errors.js';
import { absolutePath, evenAfterChildErrors, listenAddress } from './types.js';

/** Route protocol numbers iproute2 names in /etc/iproute2/rt_protos (plus kernel-reserved 0..4). */
export const IPROUTE2_NAMED_PROTOS: Readonly<Record<number, string>> = {
  0: 'unspec',
  1: 'redirect',
  2: 'kernel',
  3: 'boot',
  4: 'static',
  8: 'gated',
  9: 'ra',
  10: 'mrt',
  11: 'zebra',
  12: 'bird',
  13: 'dnrouted',
  14: 'xorp',
  15: 'ntk',
  16: 'dhcp',
  17: 'mrouted',
  18: 'keepalived',
  42: 'babel',
  99: 'openr',
  186: 'bgp',
  187: 'isis',
  188: 'ospf',
  189: 'rip',
  192: 'eigrp',
};
/** Routing table ids the kernel and iproute2 reserve: unspec, default, main, local. */
export const RESERVED_TABLES: Readonly<Record<number, string>> = {
  0: 'unspec',
  253: 'default',
  254: 'main',
  255: 'local',
};
/** Rule priorities of the kernel's own rules (main and default). */
export const MAIN_RULE_PRIORITY = 32766;

export const KERNEL_DEFAULTS = {
  route_protocol: 201,
  table_base: 7300,
  table_count: 64,
  rule_priority_base: 7300,
  rule_priority_count: 100,
  fwmark: 0x740000,
  fwmark_mask: 0xff0000,
} as const;

const hex = (n: number): string => `0x${n.toString(16)}`;

/** A 32-bit unsigned number written as a number, or as a string in hex ("0x740000") or decimal. */
function u32(what: string) {
  return z
    .union([z.int().min(0).max(0xffffffff), z.string()], {
      error: (iss) => hinted(`${JSON.stringify(iss.input)} is not a ${what}`, 'write a number like 0x740000'),
    })
    .transform((v, ctx): number => {
      const n = typeof v === 'number' ? v : /^(0x[0-9a-f]+|\d+)$/i.test(v.trim()) ? Number(v.trim()) : NaN;
      if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
        ctx.addIssue({
          code: 'custom',
          input: v,
          message: hinted(
            `${JSON.stringify(v)} is not a 32-bit ${what}`,
            'write a number from 0 to 0xffffffff, e.g. "0x740000"',
          ),
        });
        return z.NEVER;
      }
      return n;
    });
}

const isNum = (v: unknown): v is number => typeof v === 'number';

export const kernelSchema = z
  .strictObject({
    route_protocol: z
      .int()
      .min(1)
      .max(255)
      .default(KERNEL_DEFAULTS.route_protocol)
      .describe(
        'Route protocol number on every route we create (default 201); must not be one iproute2 names (e.g. 186 bgp, 16 dhcp).',
      ),
    table_base: z
      .int()
      .min(1)
      .max(0xffffffff)
      .default(KERNEL_DEFAULTS.table_base)
      .describe(
        'First routing table we own (default 7300): table_base is the selection table, table_base+1... hold one table per uplink. The range must avoid 0, 253, 254, 255.',
      ),
    table_count: z
      .int()
      .min(2)
      .max(65536)
      .default(KERNEL_DEFAULTS.table_count)
      .describe('Number of tables in our range (default 64: the selection table plus up to 63 uplinks).'),
    rule_priority_base: z
      .int()
      .min(1)
      .max(MAIN_RULE_PRIORITY - 1)
      .default(KERNEL_DEFAULTS.rule_priority_base)
      .describe(
        'First rule priority we own (default 7300); our rules use base..base+rule_priority_count-1, which must stay below 32766 (the main table rule).',
      ),
    rule_priority_count: z
      .int()
      .min(4)
      .max(10000)
      .default(KERNEL_DEFAULTS.rule_priority_count)
      .describe('Size of our rule priority range (default 100).'),
    fwmark: u32('fwmark')
      .prefault(hex(KERNEL_DEFAULTS.fwmark))
      .describe(
        'Firewall mark value we use (default 0x740000); must lie within fwmark_mask. A number or a hex string.',
      ),
    fwmark_mask: u32('fwmark mask')
      .prefault(hex(KERNEL_DEFAULTS.fwmark_mask))
      .describe(
        'The fwmark bits that are ours (default 0xff0000); other bits are left alone. A number or a hex string.',
      ),
  })
  .superRefine((k, ctx) => {
    const add = (path: string, input: unknown, message: string, hint: string) =>
      ctx.addIssue({ code: 'custom', path: [path], input, message: hinted(message, hint) });
    if (isNum(k.route_protocol) && IPROUTE2_NAMED_PROTOS[k.route_protocol] !== undefined) {
      add(
        'route_protocol',
        k.route_protocol,
        `route protocol ${k.route_protocol} is iproute2's "${IPROUTE2_NAMED_PROTOS[k.route_protocol]}"`,
        `pick a number iproute2 does not name, e.g. ${KERNEL_DEFAULTS.route_protocol} (the default)`,
      );
    }
    if (isNum(k.table_base) && isNum(k.table_count) && k.table_base >= 1) {
      const last = k.table_base + k.table_count - 1;
      const hits = Object.keys(RESERVED_TABLES)
        .map(Number)
        .filter((t) => t >= k.table_base && t <= last);
      if (hits.length > 0) {
        add(
          'table_base',
          k.table_base,
          `tables ${k.table_base}..${last} include ${hits.map((t) => `${t} (${RESERVED_TABLES[t]})`).join(', ')}`,
          `move table_base, e.g. to ${KERNEL_DEFAULTS.table_base} (the default)`,
        );
      } else if (last > 0xffffffff) {
        add(
          'table_count',
          k.table_count,
          `tables ${k.table_base}..${last} go past 4294967295`,
          'lower table_base or table_count',
        );
      }
    }
    if (isNum(k.rule_priority_base) && isNum(k.rule_priority_count) && k.rule_priority_base >= 1) {
      const last = k.rule_priority_base + k.rule_priority_count - 1;
      if (last >= MAIN_RULE_PRIORITY) {
        add(
          'rule_priority_base',
          k.rule_priority_base,
          `rule priorities ${k.rule_priority_base}..${last} reach ${MAIN_RULE_PRIORITY} (the main table rule)`,
          `our rules must come before it; lower rule_priority_base, e.g. to ${KERNEL_DEFAULTS.rule_priority_base}`,
        );
      }
    }
    if (isNum(k.fwmark_mask) && k.fwmark_mask === 0) {
      add(
        'fwmark_mask',
        k.fwmark_mask,
        'fwmark_mask is 0',
        `we need some bits of the mark, e.g. ${hex(KERNEL_DEFAULTS.fwmark_mask)}`,
      );
    } else if (isNum(k.fwmark) && isNum(k.fwmark_mask) && (k.fwmark & ~k.fwmark_mask) >>> 0 !== 0) {
      add(
        'fwmark',
        k.fwmark,
        `fwmark ${hex(k.fwmark)} has bits outside fwmark_mask ${hex(k.fwmark_mask)}`,
        'the mark must lie within the mask, e.g. fwmark 0x740000 with mask 0xff0000',
      );
    }
  }, evenAfterChildErrors)
  .describe(
    'Ranges of the kernel objects uplinkd owns. Foreign routes, rules and tables outside them are never touched.',
  );

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const controlSchema = z
  .strictObject({
    socket: absolutePath(107)
      .default('/run/uplinkd/uplinkd.sock')
      .describe(
        'Control socket of the daemon, used by the uplink CLI (default /run/uplinkd/uplinkd.sock). Cannot change through apply.',
      ),
    state_dir: absolutePath()
      .default('/var/lib/uplinkd')
      .describe('State directory: state file, API token (default /var/lib/uplinkd). Cannot change through apply.'),
    run_dir: absolutePath()
      .default('/run/uplinkd')
      .describe(
        "Runtime directory (default /run/uplinkd, a tmpfs): the jobs' output files (jobs/NAME.log) go here, not to the state dir, which may sit on flash.",
      ),
    http: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe('Serve the HTTP API, SSE, /metrics and the dashboard (default true).'),
        listen: listenAddress
          .default('127.0.0.1:8377')
          .describe(
            'host:port of the HTTP API and dashboard (default 127.0.0.1:8377). Reads from a peer that is not loopback need the API token.',
          ),
        exposed: z
          .boolean()
          .default(false)
          .describe(
            'Set true when a listen address that is not loopback is meant (a VPN or management address): otherwise the daemon warns at start.',
          ),
      })
      .prefault({})
      .describe(
        'HTTP API, Server-Sent Events, Prometheus /metrics and the dashboard. Mutating calls need the bearer token in STATE_DIR/api-token (mode 0600).',
      ),
    kernel: kernelSchema.prefault({}),
    netlink_buffer: z
      .int()
      .min(4096)
      .max(1 << 30)
      .default(8 << 20)
      .describe(
        'Receive buffer of the netlink event socket in bytes (default 8388608). A burst that overruns it costs a full resync, never a crash.',
      ),
    carrier_poll: durationType({ max: 60_000, why: 'a slower poll is slower than the kernel; 0 turns it off' })
      .prefault('5ms')
      .describe(
        "How often the carrier of uplinks that probe at least once a second (instant, fast) is read from /sys (default 5ms, at most 1m; 0 turns it off). The kernel's own carrier events can lag up to 1s behind for physical NICs.",
      ),
    log_level: z
      .enum(LOG_LEVELS)
      .optional()
      .describe('Log level (pino): fatal, error, warn, info (default), debug, trace, silent.'),
  })
  .describe('How the daemon is reached and which kernel objects it owns.');
