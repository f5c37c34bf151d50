/** Synchronous dumps on the dump socket, filtered by the kernel where it can. */
import * as C from './constants.js';
import {
  dumpRequest,
  errorCode,
  parseAddr,
  parseLink,
  parseRoute,
  parseRule,
  routeHeader,
  type DumpRequest,
  type NlMessage,
} from './codec.js';
import { NetlinkError, type NetlinkSocket } from './socket.js';
import type { DumpResult, DumpWhat } from './protocol.js';
import { isStoredRoute, isStoredRule, routeKey, type RouteFilter } from '../../model/kernel.js';

let seq = 1;

function dumpOne(sock: NetlinkSocket, buf: Buffer, req: DumpRequest, onMsg: (m: NlMessage) => void): void {
  const mySeq = ++seq;
  sock.exchange(
    dumpRequest(req, mySeq),
    mySeq,
    buf,
    (m) => {
      if (m.type === C.NLMSG_DONE) return true;
      if (m.type !== C.NLMSG_ERROR) {
        onMsg(m);
        return false;
      }
      const err = errorCode(m);
      // ENOENT: a table that does not exist yet (IPv4 or IPv6) dumps as empty.
      if (err === 0 || err === C.ENOENT) return true;
      throw new NetlinkError('dump', err);
    },
    5000,
  );
}

/** The tables whose routes we store: main (for default routes) and our own range. */
function storedTables(f: RouteFilter): number[] {
  const t = [C.RT_TABLE_MAIN];
  for (let i = 0; i < f.tableCount; i++) t.push(f.tableBase + i);
  return t;
}

function dumpRoutes(sock: NetlinkSocket, buf: Buffer, f: RouteFilter, out: DumpResult): void {
  const seen = new Set<string>();
  const keep = (m: NlMessage) => {
    if (!isStoredRoute(routeHeader(m), f)) return;
    const r = parseRoute(m);
    if (!r || seen.has(routeKey(r))) return;
    seen.add(routeKey(r));
    out.routes.push(r);
  };
  for (const family of [C.AF_INET, C.AF_INET6]) {
    for (const table of storedTables(f)) dumpOne(sock, buf, { type: C.RTM_GETROUTE, family, table }, keep);
    // Our protocol in any table (e.g. a table outside today's range that an older config used).
    dumpOne(sock, buf, { type: C.RTM_GETROUTE, family, protocol: f.protocol }, keep);
  }
}

export function runDump(sock: NetlinkSocket, buf: Buffer, what: DumpWhat, f: RouteFilter): DumpResult {
  const out: DumpResult = { links: [], addrs: [], routes: [], rules: [] };
  if (what === 'count6') {
    const counts: Record<string, number> = {};
    dumpOne(sock, buf, { type: C.RTM_GETROUTE, family: C.AF_INET6 }, (m) => {
      const h = routeHeader(m);
      if (!isStoredRoute(h, f)) counts[h.table] = (counts[h.table] ?? 0) + 1;
    });
    out.count6 = counts;
    return out;
  }
  if (what === 'state') {
    dumpOne(sock, buf, { type: C.RTM_GETLINK, family: 0 }, (m) => out.links.push(parseLink(m)));
    for (const family of [C.AF_INET, C.AF_INET6]) {
      dumpOne(sock, buf, { type: C.RTM_GETADDR, family }, (m) => {
        const a = parseAddr(m);
        if (a) out.addrs.push(a);
      });
    }
  }
  dumpRoutes(sock, buf, f, out);
  for (const family of [C.AF_INET, C.AF_INET6]) {
    dumpOne(sock, buf, { type: C.RTM_GETRULE, family }, (m) => {
      const r = parseRule(m);
      if (r && isStoredRule(r, f)) out.rules.push(r);
    });
  }
  return out;
}
