/**
 * A raw netlink socket (rtnetlink; conntrack) through koffi (Node has no AF_NETLINK). Every
 * call here is synchronous. Dumps and event streams run in worker threads. The one use on
 * the main thread is route-ops.ts: the kernel answers a route or rule request inside
 * sendmsg, so its ACK is already queued (tens of µs); the wait for it is capped at 1 s.
 */
import koffi from 'koffi';
import * as C from './constants.js';

const libc = koffi.load('libc.so.6');
const socket = libc.func('int socket(int, int, int)');
const bind = libc.func('int bind(int, void *, uint32_t)');
const setsockopt = libc.func('int setsockopt(int, int, int, void *, uint32_t)');
const send = libc.func('long send(int, void *, size_t, int)');
const recv = libc.func('long recv(int, _Out_ void *, size_t, int)');
const poll = libc.func('int poll(_Inout_ void *, unsigned long, int)');
const close = libc.func('int close(int)');

const MSG_DONTWAIT = 0x40;

export class NetlinkError extends Error {
  constructor(readonly op: string, readonly errno: number) {
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
    const pfd = Buffer.alloc(8);
    pfd.writeInt32LE(this.fd, 0);
    pfd.writeInt16LE(1 /* POLLIN */, 4);
    const rc = poll(pfd, 1, ms);
    return rc > 0;
  }

  close(): void {
    close(this.fd);
  }
}
