/**
 * A raw netlink socket (rtnetlink; conntrack) through koffi (Node has no AF_NETLINK). Every
 * call here is synchronous. Dumps and event streams run in worker threads. The one use on
 * the main thread is route-ops.ts: the kernel answers a route or rule request inside
 * sendmsg, so its ACK is already queued (tens of µs); the wait for it is capped at 1 s.
 */
import koffi from 'koffi';
import * as C from './constants.js';
import { messages, type NlMessage } from './codec.js';
import { bind, close, recv, send, setsockopt, socket, waitReadable } from '../libc.js';

const MSG_DONTWAIT = 0x40;

export class NetlinkError extends Error {
  constructor(
    readonly op: string,
    readonly errno: number,
  ) {
    super(`netlink ${op} failed: errno ${errno}`);
  }
}

function check(op: string, rc: number): number {
  if (rc < 0) throw new NetlinkError(op, koffi.errno());
  return rc;
}

function intBuf(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
}

export class NetlinkSocket {
  readonly fd: number;

  constructor(groups: number, rcvbuf: number, protocol: number = C.NETLINK_ROUTE) {
    this.fd = check('socket', socket(C.AF_NETLINK, C.SOCK_RAW | C.SOCK_CLOEXEC, protocol));
    // SO_RCVBUFFORCE ignores rmem_max (root only); fall back to SO_RCVBUF.
    if (setsockopt(this.fd, C.SOL_SOCKET, C.SO_RCVBUFFORCE, intBuf(rcvbuf), 4) < 0) {
      setsockopt(this.fd, C.SOL_SOCKET, C.SO_RCVBUF, intBuf(rcvbuf), 4);
    }
    // Strict checking lets the kernel filter route dumps by table and protocol.
    setsockopt(this.fd, C.SOL_NETLINK, C.NETLINK_GET_STRICT_CHK, intBuf(1), 4);
    const sa = Buffer.alloc(12);
    sa.writeUInt16LE(C.AF_NETLINK, 0);
    sa.writeUInt32LE(groups, 8);
    check('bind', bind(this.fd, sa, 12));
  }

  /** Joins a multicast group by number (groups above 32 and rules have no legacy bind bit). */
  join(group: number): void {
    check('join', setsockopt(this.fd, C.SOL_NETLINK, C.NETLINK_ADD_MEMBERSHIP, intBuf(group), 4));
  }

  send(msg: Buffer): void {
    check('send', send(this.fd, msg, msg.length, 0));
  }

  /** Non-blocking receive: bytes read, 0 when nothing is queued; throws NetlinkError (e.g. ENOBUFS). */
  recv(buf: Buffer): number {
    const n = recv(this.fd, buf, buf.length, MSG_DONTWAIT);
    if (n >= 0) return n;
    const errno = koffi.errno();
    if (errno === C.EAGAIN || errno === C.EINTR) return 0;
    throw new NetlinkError('recv', errno);
  }

  /** Waits up to `ms` for data; true when readable. */
  wait(ms: number): boolean {
    return waitReadable(this.fd, ms);
  }

  /**
   * A request and its answer: sends `msg`, then hands every reply carrying `seq` to `onReply`
   * until it returns true (NLMSG_DONE, the ACK, …). A silence of `timeoutMs` throws
   * NetlinkError (ETIMEDOUT).
   */
  exchange(msg: Buffer, seq: number, buf: Buffer, onReply: (m: NlMessage) => boolean, timeoutMs: number): void {
    this.send(msg);
    for (;;) {
      if (!this.wait(timeoutMs)) throw new NetlinkError('request timeout', C.ETIMEDOUT);
      const n = this.recv(buf);
      for (const m of messages(buf, n)) if (m.seq === seq && onReply(m)) return;
    }
  }

  close(): void {
    close(this.fd);
  }
}
