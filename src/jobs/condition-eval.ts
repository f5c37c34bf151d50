/**
 * The pure evaluator of job conditions (config/condition.ts): true or false for a snapshot of
 * the daemon's state, and the part that decided it, for `uplink status` ("waits: default.up
 * is false").
 */
import { BlockList, isIP } from 'node:net';
import type { Cond, Flag, Value } from '../config/condition.js';

export interface CondState {
  /** The uplink carrying the default route, if any. */
  selected?: string;
  /** `up`: usable (the same test as default.up); `state`: the exact state; `address`: its IPv4 address. */
  uplinks: ReadonlyMap<string, { up: boolean; state: string; address?: string }>;
  /** Jobs that are running now. */
  jobs: ReadonlyMap<string, boolean>;
  /** The addresses on an interface now (either family). */
  addresses: (iface: string) => string[];
}

export interface Verdict {
  ok: boolean;
  /** The test (or tests) that decided. */
  why: string;
}

/** A value's text; "none" when there is none (no uplink selected, no address). */
export function stateValue(v: Value, s: CondState): string {
  const up = (name?: string) => (name === undefined ? undefined : s.uplinks.get(name));
  switch (v.kind) {
    case 'default.uplink':
      return s.selected ?? 'none';
    case 'default.address':
      return up(s.selected)?.address ?? 'none';
    case 'uplink.state':
      return up(v.uplink)?.state ?? 'none';
    case 'uplink.address':
      return up(v.uplink)?.address ?? 'none';
  }
}

function inNet(ip: string, cidr: string): boolean {
  const [net, len] = cidr.split('/') as [string, string];
  const fam = isIP(net) === 6 ? 'ipv6' : 'ipv4';
  if ((isIP(ip) === 6 ? 'ipv6' : 'ipv4') !== fam) return false;
  const b = new BlockList();
  b.addSubnet(net, Number(len), fam);
  return b.check(ip, fam);
}

function flagValue(f: Flag, s: CondState): boolean {
  switch (f.kind) {
    case 'default.up':
      return s.selected !== undefined && (s.uplinks.get(s.selected)?.up ?? false);
    case 'uplink.up':
      return s.uplinks.get(f.uplink)?.up ?? false;
    case 'uplink.selected':
      return s.selected === f.uplink;
    case 'job.running':
      return s.jobs.get(f.job) ?? false;
  }
}

export function evaluate(c: Cond, s: CondState): Verdict {
  switch (c.op) {
    case 'flag': {
      const ok = flagValue(c.flag, s);
      return { ok, why: `${c.text} is ${ok}` };
    }
    case 'cmp': {
      const v = stateValue(c.value, s);
      const ok = (v === c.literal) !== c.neg;
      return { ok, why: `${c.text} is ${ok} (it is "${v}")` };
    }
    case 'addr': {
      const ok = s.addresses(c.iface).some((a) => inNet(a, c.cidr));
      return { ok, why: `${c.text} is ${ok}` };
    }
    case 'not': {
      const r = evaluate(c.arg, s);
      return { ok: !r.ok, why: r.why };
    }
    case 'and': {
      const rs = c.args.map((a) => evaluate(a, s));
      const bad = rs.find((r) => !r.ok);
      return bad ? { ok: false, why: bad.why } : { ok: true, why: rs.map((r) => r.why).join('; ') };
    }
    case 'or': {
      const rs = c.args.map((a) => evaluate(a, s));
      const good = rs.find((r) => r.ok);
      return good ? { ok: true, why: good.why } : { ok: false, why: rs.map((r) => r.why).join('; ') };
    }
  }
}
