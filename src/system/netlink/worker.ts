/**
 * Kernel-watch worker: owns two netlink sockets so a dump never competes with
 * the event stream (docs/platform-notes.md: separate dump and event sockets). Foreign
 * routes are counted here and never cross to the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
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
import { waitOrBell } from '../doorbell.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);

const GROUPS = C.RTMGRP_LINK | C.RTMGRP_IPV4_IFADDR | C.RTMGRP_IPV6_IFADDR | C.RTMGRP_IPV4_ROUTE | C.RTMGRP_IPV6_ROUTE;
const events = new NetlinkSocket(GROUPS, init.rcvbuf);
events.join(C.RTNLGRP_IPV4_RULE);
events.join(C.RTNLGRP_IPV6_RULE);
const dumps = new NetlinkSocket(0, 1 << 20);
const ruleset = openRulesetEvents();
const buf = Buffer.alloc(1 << 18);
const queue: ToWorker[] = [];
// Rung by the main thread after each message: the loop sleeps until the kernel or it speaks.
const bell = init.bell;
let stopping = false;

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

port.on('message', (m: ToWorker) => {
  if (m.t === 'stop') stopping = true;
  else queue.push(m);
});

interface Batch {
  events: KernelEvent[];
  foreign6: Record<string, number>;
  foreign4: boolean;
  messages: number;
}
const newBatch = (): Batch => ({ events: [], foreign6: {}, foreign4: false, messages: 0 });

function handle(m: NlMessage, b: Batch): void {
  b.messages++;
  const op = m.type % 2 === 0 ? 'new' : 'del';
  if (m.type === C.RTM_NEWLINK || m.type === C.RTM_DELLINK) {
    b.events.push({ kind: 'link', op, link: parseLink(m) });
  } else if (m.type === C.RTM_NEWADDR || m.type === C.RTM_DELADDR) {
    const addr = parseAddr(m);
    if (addr) b.events.push({ kind: 'addr', op, addr });
  } else if (m.type === C.RTM_NEWROUTE || m.type === C.RTM_DELROUTE) {
    handleRoute(m, op, b);
  } else if (m.type === C.RTM_NEWRULE || m.type === C.RTM_DELRULE) {
    const rule = parseRule(m);
    if (rule && isStoredRule(rule, init.filter)) b.events.push({ kind: 'rule', op, rule });
  }
}

function handleRoute(m: NlMessage, op: 'new' | 'del', b: Batch): void {
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

/** Reads what is queued (bounded, so dumps and stop requests are not starved), then posts one batch. */
function drain(): boolean {
  const b = newBatch();
  const deadline = Date.now() + 20;
  let any = false;
  try {
    for (let n = events.recv(buf); n > 0; n = Date.now() < deadline ? events.recv(buf) : 0) {
      any = true;
      for (const m of messages(buf, n)) handle(m, b);
    }
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === C.ENOBUFS) post({ t: 'overrun' });
    else throw e;
  }
  if (b.messages > 0) post({ t: 'events', ...b });
  return any;
}

/** Posts the names of the tables that changed since the last look (one message per wake). */
function drainRuleset(): boolean {
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
    if (e instanceof NetlinkError && e.errno === C.ENOBUFS) post({ t: 'ruleset', tables: [...tables], lost: true });
    else throw e;
    return true;
  }
  if (tables.size) post({ t: 'ruleset', tables: [...tables] });
  return any;
}

function serveDumps(): void {
  while (queue.length) {
    const req = queue.shift()!;
    if (req.t !== 'dump') continue;
    try {
      post({ t: 'dump', id: req.id, result: runDump(dumps, buf, req.what, init.filter) });
    } catch (e) {
      post({ t: 'dump', id: req.id, error: String((e as Error).message ?? e) });
    }
  }
}

function loop(): void {
  try {
    if (stopping) {
      events.close();
      dumps.close();
      ruleset?.close();
      port.close();
      return;
    }
    serveDumps();
    // Back to the event loop after each wake: that is where the port's messages come in.
    const busy = drainRuleset();
    if (!drain() && !busy) waitOrBell(ruleset ? [events.fd, ruleset.fd] : [events.fd], bell, -1);
    setImmediate(loop);
  } catch (e) {
    post({ t: 'fatal', error: String((e as Error).stack ?? e) });
    // End this thread; the main side restarts the watch with a full resync.
    process.exit(1);
  }
}

post({ t: 'ready', ruleset: ruleset !== undefined });
loop();
