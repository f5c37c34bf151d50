/**
 * DHCP leases from the lease file our udhcpc script appends to (src/dhcp/client.ts): one line
 * per event, folded into what the uplink holds now. Pure.
 *
 * A line: `UNIXTIME PID EVENT ip=A subnet=M router=R lease=S serverid=I` (empty values
 * allowed). udhcpc's events: `deconfig` (at start, and when a lease is lost: expiry, NAK,
 * release), `bound` (a new lease), `renew` (the same lease, extended), `leasefail` (no server
 * answered), `nak`. The start-up `deconfig` of each client process is not a loss: a client
 * started with `-r` on an interface that holds its address says it before asking again.
 */
import { isIP } from 'node:net';

export interface LeaseEvent {
  atMs: number;
  pid: number;
  event: string;
  ip?: string;
  prefixlen?: number;
  router?: string;
  leaseS?: number;
  serverId?: string;
}

export interface Lease {
  address: string;
  prefixlen: number;
  gateway?: string;
  leaseS: number;
  serverId?: string;
  /** The last bound or renew. */
  obtainedAtMs: number;
}

export interface LeaseState {
  lease?: Lease;
  /** No server answered since the last bound or renew (leasefail), since then. */
  failingSinceMs?: number;
  last?: { event: string; atMs: number; pid: number };
  /** Why the last lease went (`lease lost (deconfig)`), until a new one comes. */
  lost?: string;
}

/** Prefix length of a dotted IPv4 mask (255.255.255.0 → 24); undefined if it is not a mask. */
export function maskLength(mask: string): number | undefined {
  if (isIP(mask) !== 4) return undefined;
  const n = mask.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const bits = n.toString(2).padStart(32, '0');
  if (!/^1*0*$/.test(bits)) return undefined;
  const zero = bits.indexOf('0');
  return zero === -1 ? 32 : zero;
}

/** One line of the lease file; undefined for a torn or foreign line. */
export function parseLeaseLine(line: string): LeaseEvent | undefined {
  const [at, pid, event, ...kv] = line.trim().split(/\s+/);
  if (!at || !pid || !event || !/^\d+$/.test(at) || !/^\d+$/.test(pid) || !/^[a-z]+$/.test(event)) return undefined;
  const v: Record<string, string> = {};
  for (const p of kv) {
    const i = p.indexOf('=');
    if (i > 0 && i < p.length - 1) v[p.slice(0, i)] = p.slice(i + 1);
  }
  const e: LeaseEvent = { atMs: Number(at) * 1000, pid: Number(pid), event };
  if (v.ip && isIP(v.ip) === 4) e.ip = v.ip;
  const len = v.subnet ? maskLength(v.subnet) : undefined;
  if (len !== undefined) e.prefixlen = len;
  if (v.router && isIP(v.router) === 4) e.router = v.router;
  if (v.lease && /^\d+$/.test(v.lease)) e.leaseS = Number(v.lease);
  if (v.serverid && isIP(v.serverid) === 4) e.serverId = v.serverid;
  return e;
}

function leaseOf(e: LeaseEvent): Lease | undefined {
  if (!e.ip) return undefined;
  return {
    address: e.ip,
    // udhcpc passes no subnet when the server sent none: a host route would be wrong, /24 is udhcpc's own default.
    prefixlen: e.prefixlen ?? 24,
    ...(e.router ? { gateway: e.router } : {}),
    leaseS: e.leaseS ?? 3600,
    ...(e.serverId ? { serverId: e.serverId } : {}),
    obtainedAtMs: e.atMs,
  };
}

/** Folds the lease file's text; what the interface should hold at `nowMs` (an expired lease is none). */
export function foldLeases(text: string, nowMs: number): LeaseState {
  const st: LeaseState = {};
  const seen = new Set<number>();
  for (const line of text.split('\n')) {
    const e = parseLeaseLine(line);
    if (!e) continue;
    const first = !seen.has(e.pid);
    seen.add(e.pid);
    st.last = { event: e.event, atMs: e.atMs, pid: e.pid };
    if (e.event === 'bound' || e.event === 'renew') {
      const l = leaseOf(e);
      if (!l) continue;
      st.lease = l;
      st.failingSinceMs = undefined;
      st.lost = undefined;
    } else if (e.event === 'deconfig' && !first && st.lease) {
      st.lease = undefined;
      st.lost = 'lease lost (expired, refused or released)';
    } else if (e.event === 'leasefail') st.failingSinceMs ??= e.atMs;
  }
  if (st.lease && expiresAt(st.lease) <= nowMs) {
    st.lease = undefined;
    st.lost = 'lease expired';
  }
  return st;
}

export const expiresAt = (l: Lease) => l.obtainedAtMs + l.leaseS * 1000;
/** T1: when the client renews (RFC 2131: half the lease). */
export const renewsAt = (l: Lease) => l.obtainedAtMs + (l.leaseS * 1000) / 2;
