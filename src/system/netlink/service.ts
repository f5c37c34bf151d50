/**
 * The kernel watch's service in the I/O thread (src/system/io/worker.ts): owns two netlink
 * sockets so a dump never competes with the event stream (docs/platform-notes.md: separate
 * dump and event sockets), and one for nf_tables change events. Foreign routes are counted
 * here and never cross to the main thread.
 */
import type { MessagePort } from 'node:worker_threads';
import * as C from './constants.js';
import {
  messages,
  nftTableOf,
  parseAddr,
  parseLink,
  parseRoute,
  parseRule,
  routeHeader,
  type NlMessage,
} from './codec.js';
import { NetlinkError, NetlinkSocket } from './socket.js';
import { runDump } from './dump.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';
import { isStoredRoute, isStoredRule, type KernelEvent } from '../../model/kernel.js';
import type { IoService } from '../io/service.js';

const GROUPS = C.RTMGRP_LINK | C.RTMGRP_IPV4_IFADDR | C.RTMGRP_IPV6_IFADDR | C.RTMGRP_IPV4_ROUTE | C.RTMGRP_IPV6_ROUTE;
/** A drain reads for at most this long before it lets the other services (probes) run. */
const DRAIN_MS = 10;

interface Batch {
  events: KernelEvent[];
  foreign6: Record<string, number>;
  foreign4: boolean;
  messages: number;
}
const newBatch = (): Batch => ({ events: [], foreign6: {}, foreign4: false, messages: 0 });

/**
 * nf_tables change events, so the firewall's tamper check runs when a table changes instead of
 * listing it every 2 s. Undefined without nf_tables (or the right to listen): then it polls.
 */
function openRulesetEvents(): NetlinkSocket | undefined {
  try {
    const sock = new NetlinkSocket(0, 1 << 20, C.NETLINK_NETFILTER);
    sock.join(C.NFNLGRP_NFTABLES);
    return sock;
  } catch {
    return undefined;
  }
}

function handle(init: WorkerInit, m: NlMessage, b: Batch): void {
  b.messages++;
  const op = m.type % 2 === 0 ? 'new' : 'del';
  if (m.type === C.RTM_NEWLINK || m.type === C.RTM_DELLINK) {
    b.events.push({ kind: 'link', op, link: parseLink(m) });
  } else if (m.type === C.RTM_NEWADDR || m.type === C.RTM_DELADDR) {
    const addr = parseAddr(m);
    if (addr) b.events.push({ kind: 'addr', op, addr });
  } else if (m.type === C.RTM_NEWROUTE || m.type === C.RTM_DELROUTE) {
    handleRoute(init, m, op, b);
  } else if (m.type === C.RTM_NEWRULE || m.type === C.RTM_DELRULE) {
    const rule = parseRule(m);
    if (rule && isStoredRule(rule, init.filter)) b.events.push({ kind: 'rule', op, rule });
  }
}

function handleRoute(init: WorkerInit, m: NlMessage, op: 'new' | 'del', b: Batch): void {
  const h = routeHeader(m);
  if (!h.family) return;
  if (!isStoredRoute(h, init.filter)) {
    if (h.family === 4) b.foreign4 = true;
    // A notification for a replaced route carries NLM_F_REPLACE: the count does not change.
    else if (op === 'del' || (m.flags & C.NLM_F_REPLACE) === 0)
      b.foreign6[h.table] = (b.foreign6[h.table] ?? 0) + (op === 'new' ? 1 : -1);
    return;
  }
  const route = parseRoute(m);
  if (!route) return;
  if (op === 'new' && (m.flags & C.NLM_F_REPLACE) !== 0) b.events.push({ kind: 'route', op, route, replaced: true });
  else b.events.push({ kind: 'route', op, route });
}

export function netlinkService(port: MessagePort, init: WorkerInit): IoService {
  const post = (m: FromWorker) => port.postMessage(m);
  const events = new NetlinkSocket(GROUPS, init.rcvbuf);
  events.join(C.RTNLGRP_IPV4_RULE);
  events.join(C.RTNLGRP_IPV6_RULE);
  const dumps = new NetlinkSocket(0, 1 << 20);
  const ruleset = openRulesetEvents();
  const buf = Buffer.alloc(1 << 18);
  const queue: ToWorker[] = [];
  let stopping = false;
  let ended = false;
  port.on('message', (m: ToWorker) => {
    if (m.t === 'stop') stopping = true;
    else queue.push(m);
  });

  /** Reads what is queued (bounded, so dumps, probes and stop requests are not starved), then posts one batch. */
  const drain = (): boolean => {
    const b = newBatch();
    const deadline = Date.now() + DRAIN_MS;
    let any = false;
    try {
      for (let n = events.recv(buf); n > 0; n = Date.now() < deadline ? events.recv(buf) : 0) {
        any = true;
        for (const m of messages(buf, n)) handle(init, m, b);
      }
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === C.ENOBUFS) post({ t: 'overrun' });
      else throw e;
    }
    if (b.messages > 0) post({ t: 'events', ...b });
    return any;
  };

  /** Posts the names of the tables that changed since the last look (one message per wake). */
  const drainRuleset = (): boolean => {
    if (!ruleset) return false;
    const tables = new Set<string>();
    let any = false;
    try {
      for (let n = ruleset.recv(buf); n > 0; n = ruleset.recv(buf)) {
        any = true;
        for (const m of messages(buf, n)) {
          const t = nftTableOf(m);
          if (t !== undefined) tables.add(t);
        }
      }
    } catch (e) {
      if (!(e instanceof NetlinkError && e.errno === C.ENOBUFS)) throw e;
      post({ t: 'ruleset', tables: [...tables], lost: true });
      return true;
    }
    if (tables.size) post({ t: 'ruleset', tables: [...tables] });
    return any;
  };

  const serveDumps = (): void => {
    while (queue.length) {
      const req = queue.shift()!;
      if (req.t !== 'dump') continue;
      try {
        post({ t: 'dump', id: req.id, result: runDump(dumps, buf, req.what, init.filter) });
      } catch (e) {
        post({ t: 'dump', id: req.id, error: String((e as Error).message ?? e) });
      }
    }
  };

  function close(): void {
    if (ended) return;
    ended = true;
    events.close();
    dumps.close();
    ruleset?.close();
    port.close();
  }

  post({ t: 'ready', ruleset: ruleset !== undefined });
  return {
    fds: () => (ruleset ? [events.fd, ruleset.fd] : [events.fd]),
    timeoutMs: () => -1,
    get ended() {
      return ended;
    },
    close,
    work() {
      if (ended) return false;
      if (stopping) {
        close();
        return false;
      }
      serveDumps();
      const changed = drainRuleset();
      return drain() || changed;
    },
  };
}
