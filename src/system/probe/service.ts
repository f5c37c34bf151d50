/**
 * The prober's service in the I/O thread (src/system/io/worker.ts): owns every ICMP and DNS
 * probe socket. A request arrives by message (the main thread rings the doorbell after it);
 * the socket is made, marked, bound and connected, and the packet sent. The thread's poll(2)
 * waits on every pending socket until the nearest deadline, so an answer is read when it
 * comes and a timeout is judged when it is due. RTT is measured here with the monotonic
 * clock. Nothing here blocks the main thread or libuv's threadpool.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import { buildEcho, icmpErrorName, parseIcmp } from './icmp-packet.js';
import { isResponseTo } from './dns-packet.js';
import type { DgramProbe, FromWorker, ToWorker, WorkerInit } from './protocol.js';
import * as S from './sockets.js';
import type { IoService } from '../io/service.js';
import type { IcmpMode } from './types.js';

const RANGE_FILE = '/proc/sys/net/ipv4/ping_group_range';
const PAYLOAD = Buffer.from('uplinkd probe 0123456789abcdef', 'ascii'); // 30 bytes

interface Pending {
  req: DgramProbe;
  fd: number;
  raw: boolean;
  ident: number;
  seq: number;
  t0: bigint;
  deadline: bigint;
}

const now = () => process.hrtime.bigint();
const ms = (ns: bigint) => Number(ns) / 1e6;
const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** One service per prober: its sockets, its ICMP mode and its sequence numbers. */
export function probeService(port: MessagePort, init: WorkerInit): IoService {
  const post = (m: FromWorker) => port.postMessage(m);
  const pending = new Map<number, Pending>(); // by fd
  const buf = Buffer.alloc(65536);
  let mode: IcmpMode = 'unknown';
  let seq = Math.floor(Math.random() * 0x10000);
  let ident = Math.floor(Math.random() * 0x10000);
  let stopping = false;

  // ---------------------------------------------------------------------------------------
  // ICMP socket kind: datagram if allowed (widening ping_group_range if needed), else raw.

  function setMode(m: IcmpMode, detail: string): void {
    mode = m;
    post({ t: 'mode', mode: m, detail });
  }

  function readRange(): [number, number] | undefined {
    try {
      const [lo, hi] = readFileSync(RANGE_FILE, 'utf8').trim().split(/\s+/).map(Number);
      return Number.isFinite(lo) && Number.isFinite(hi) ? [lo!, hi!] : undefined;
    } catch {
      return undefined;
    }
  }

  /** Writes a range including our gid; returns a description, or throws. */
  function widenRange(): string {
    const cur = readRange();
    const gid = init.gid;
    const next: [number, number] =
      !cur || cur[0] > cur[1] ? [gid, gid] : [Math.min(cur[0], gid), Math.max(cur[1], gid)];
    writeFileSync(RANGE_FILE, `${next[0]} ${next[1]}`);
    return `widened net.ipv4.ping_group_range from "${cur ? cur.join(' ') : '?'}" to "${next.join(' ')}" (gid ${gid})`;
  }

  function detect(why: string): void {
    const tryDgram = () => S.trySocket(4, S.SOCK_DGRAM, S.IPPROTO_ICMP);
    const tryRaw = () => S.trySocket(4, S.SOCK_RAW, S.IPPROTO_ICMP);
    let refused = '';
    if (!init.forceRaw) {
      const e1 = tryDgram();
      if (e1 === 0) return setMode('dgram', `${why}ICMP datagram sockets`);
      refused = `ICMP datagram sockets refused: ${S.errnoText(e1)}`;
      if (e1 === S.EACCES && init.widen) {
        try {
          const did = widenRange();
          const e2 = tryDgram();
          if (e2 === 0) return setMode('dgram', `${why}${refused}; ${did}; using ICMP datagram sockets`);
          refused += `; still refused after widening: ${S.errnoText(e2)}`;
        } catch (e) {
          refused += `; could not widen net.ipv4.ping_group_range: ${errText(e)}`;
        }
      }
    } else refused = 'raw ICMP sockets forced';
    const e3 = tryRaw();
    if (e3 === 0) return setMode('raw', `${why}${refused}; using raw ICMP sockets`);
    setMode('unknown', `${why}${refused}; raw ICMP sockets refused too: ${S.errnoText(e3)}`);
  }

  function openIcmp(family: 4 | 6): { fd: number; raw: boolean } {
    const proto = family === 4 ? S.IPPROTO_ICMP : S.IPPROTO_ICMPV6;
    if (mode === 'unknown') detect('retrying: ');
    if (mode === 'dgram') {
      try {
        return { fd: S.openSocket(family, S.SOCK_DGRAM, proto), raw: false };
      } catch (e) {
        // Someone narrowed ping_group_range under us: decide again.
        if (!(e instanceof S.SockError && e.errno === S.EACCES)) throw e;
        detect('ICMP datagram sockets refused again; ');
        if (mode === 'dgram') return { fd: S.openSocket(family, S.SOCK_DGRAM, proto), raw: false };
      }
    }
    if (mode === 'raw') return { fd: S.openSocket(family, S.SOCK_RAW, proto), raw: true };
    throw new Error('no usable ICMP socket (datagram and raw both refused)');
  }

  // ---------------------------------------------------------------------------------------
  // Probes

  function finish(p: Pending, ok: boolean, rttMs?: number, error?: string): void {
    pending.delete(p.fd);
    S.closeFd(p.fd);
    post({ t: 'result', id: p.req.id, ok, ...(rttMs !== undefined ? { rttMs } : {}), ...(error ? { error } : {}) });
  }

  function begin(req: DgramProbe): void {
    let fd = -1;
    try {
      let raw = false;
      if (req.kind === 'icmp') ({ fd, raw } = openIcmp(req.family));
      else fd = S.openSocket(req.family, S.SOCK_DGRAM, S.IPPROTO_UDP);
      if (req.mark !== undefined && req.mark !== 0) S.setMark(fd, req.mark);
      if (req.device) S.bindToDevice(fd, req.device);
      S.recvErrors(fd, req.family);
      if (req.source) S.bindTo(fd, req.family, req.source);
      // connect(): the route is chosen now (with the mark and source), and only the target's packets come back.
      S.connectTo(fd, req.family, req.host, req.port);
      const p: Pending = { req, fd, raw, ident: 0, seq: 0, t0: 0n, deadline: 0n };
      let packet: Buffer;
      if (req.kind === 'icmp') {
        p.seq = seq = (seq + 1) & 0xffff;
        p.ident = raw ? (ident = (ident + 1) & 0xffff) : 0; // datagram sockets: the kernel sets the id
        packet = buildEcho(req.family, p.ident, p.seq, PAYLOAD);
      } else packet = Buffer.from(req.payload!);
      pending.set(fd, p);
      p.t0 = now();
      p.deadline = p.t0 + BigInt(Math.round(req.timeoutMs * 1e6));
      S.sendBuf(fd, packet);
    } catch (e) {
      if (fd >= 0) {
        pending.delete(fd);
        S.closeFd(fd);
      }
      post({ t: 'result', id: req.id, ok: false, error: errText(e) });
    }
  }

  /** Reads what is queued on one socket; finishes the probe on its answer or error. */
  function readable(p: Pending): void {
    for (let i = 0; i < 64; i++) {
      let n: number;
      try {
        n = S.recvBuf(p.fd, buf);
      } catch (e) {
        return finish(p, false, undefined, errText(e));
      }
      if (n < 0) return;
      const rtt = ms(now() - p.t0);
      const data = buf.subarray(0, n);
      if (p.req.kind === 'dns') {
        if (isResponseTo(data, p.req.dnsId!)) return finish(p, true, rtt);
        continue;
      }
      const m = parseIcmp(p.req.family, data, p.raw && p.req.family === 4);
      if (!m || m.seq !== p.seq || (p.raw && m.id !== p.ident)) continue;
      if (m.kind === 'reply') return finish(p, true, rtt);
      return finish(p, false, undefined, icmpErrorName(p.req.family, m.type, m.code));
    }
  }

  /** Reads what is queued on every pending socket, then fails those past their deadline. */
  function work(): void {
    for (const p of [...pending.values()]) if (pending.get(p.fd) === p) readable(p);
    const t = now();
    for (const p of [...pending.values()]) if (t >= p.deadline) finish(p, false, undefined, 'timeout');
  }

  function nearestMs(): number {
    if (!pending.size) return -1;
    let nearest = -1n;
    for (const p of pending.values()) if (nearest < 0n || p.deadline < nearest) nearest = p.deadline;
    return Math.max(0, Math.ceil(ms(nearest - now())));
  }

  port.on('message', (m: ToWorker) => {
    if (stopping) return;
    if (m.t === 'stop') return close();
    begin(m);
  });
  function close(): void {
    if (stopping) return;
    stopping = true;
    for (const p of pending.values()) S.closeFd(p.fd);
    pending.clear();
    port.close();
  }

  detect('');
  return {
    close,
    fds: () => [...pending.keys()],
    timeoutMs: nearestMs,
    get ended() {
      return stopping;
    },
    work() {
      if (!stopping && pending.size) work();
      return false;
    },
  };
}
