/**
 * One-shot worker: dumps the IPv4 conntrack table and deletes the entries pinned by SNAT
 * to the given addresses, or the flows of routed blocks that their new path cannot carry. A worker because a dump of a busy gateway's table is large and
 * every netlink call here is synchronous.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as C from '../netlink/constants.js';
import { errorCode } from '../netlink/codec.js';
import { NetlinkError, NetlinkSocket } from '../netlink/socket.js';
import {
  ctDeleteRequest,
  ctDumpRequest,
  NETLINK_NETFILTER,
  parseCtEntry,
  pinnedTo,
  reroutedFrom,
  type CtEntry,
} from './codec.js';
import { contains4, prefix4 } from '../../config/prefix4.js';

export interface CtFlushResult {
  examined: number;
  deleted: number;
  /** Entries that were already gone when we asked (ENOENT): they count as done. */
  vanished: number;
}

const sock = new NetlinkSocket(0, 1 << 20, NETLINK_NETFILTER);
const buf = Buffer.alloc(1 << 18);
const TIMEOUT_MS = 5000;
let seq = 1;

/** What the worker is asked to release: `addrs` (SNAT) or `prefixes` (routed blocks). */
export interface CtFlushJob {
  addrs?: string[];
  prefixes?: string[];
}

function selector(job: CtFlushJob): (e: CtEntry) => boolean {
  const addrs = new Set(job.addrs ?? []);
  const blocks = (job.prefixes ?? []).map(prefix4);
  const inBlock = (ip: string) => blocks.some((p) => contains4(p, ip));
  return (e) => pinnedTo(e, addrs) || (blocks.length > 0 && reroutedFrom(e, inBlock));
}

function dump(wanted: (e: CtEntry) => boolean): { examined: number; pinned: CtEntry[] } {
  const mySeq = ++seq;
  let examined = 0;
  const pinned: CtEntry[] = [];
  sock.exchange(
    ctDumpRequest(mySeq),
    mySeq,
    buf,
    (m) => {
      if (m.type === C.NLMSG_DONE) return true;
      if (m.type === C.NLMSG_ERROR) {
        const err = errorCode(m);
        if (err) throw new NetlinkError('conntrack dump', err);
        return true;
      }
      const e = parseCtEntry(m);
      if (!e) return false;
      examined++;
      if (wanted(e)) pinned.push(e);
      return false;
    },
    TIMEOUT_MS,
  );
  return { examined, pinned };
}

function remove(e: CtEntry): 'deleted' | 'vanished' {
  const mySeq = ++seq;
  let result: 'deleted' | 'vanished' = 'deleted';
  sock.exchange(
    ctDeleteRequest(e, mySeq),
    mySeq,
    buf,
    (m) => {
      if (m.type !== C.NLMSG_ERROR) return false;
      const err = errorCode(m);
      if (err === C.ENOENT) result = 'vanished';
      else if (err) throw new NetlinkError('conntrack delete', err);
      return true;
    },
    TIMEOUT_MS,
  );
  return result;
}

try {
  const { examined, pinned } = dump(selector(workerData as CtFlushJob));
  const out: CtFlushResult = { examined, deleted: 0, vanished: 0 };
  for (const e of pinned) out[remove(e)]++;
  parentPort!.postMessage({ ok: true, result: out });
} catch (e) {
  parentPort!.postMessage({ ok: false, error: (e as Error).message });
} finally {
  sock.close();
}
