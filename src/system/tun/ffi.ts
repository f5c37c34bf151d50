/**
 * The TUN syscalls through koffi (Node has no ioctl). Opening, configuring and writing are
 * non-blocking and cheap, so they run on the main thread; only the poll+read loop lives
 * in a worker (docs/platform-notes.md: a blocking read on libuv's pool stalls the daemon).
 */
import koffi from 'koffi';
import { close, libc, strerror } from '../libc.js';

export { waitReadable } from '../libc.js';

const open = libc.func('int open(const char *, int)');
const ioctl = libc.func('int ioctl(int, unsigned long, ...)');
const write = libc.func('long write(int, void *, size_t)');
const read = libc.func('long read(int, _Out_ void *, size_t)');

const O_RDWR = 2;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const TUNSETIFF = 0x400454ca;
const TUNSETPERSIST = 0x400454cb;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
export const EAGAIN = 11;

export class TunError extends Error {
  constructor(
    op: string,
    readonly errno: number,
  ) {
    super(`${op}: ${strerror(errno)} (errno ${errno})`);
  }
}

/** Opens (or re-attaches to) the persistent TUN `name`: IFF_TUN, no packet info, non-blocking. */
export function openTun(name: string, persist = true): number {
  const fd = open('/dev/net/tun', O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw new TunError('open /dev/net/tun', koffi.errno());
  const ifr = Buffer.alloc(40);
  ifr.write(name, 0, 15, 'latin1');
  ifr.writeUInt16LE(IFF_TUN | IFF_NO_PI, 16);
  if (ioctl(fd, TUNSETIFF, 'void *', ifr) < 0) {
    const e = koffi.errno();
    close(fd);
    throw new TunError(`TUNSETIFF ${name}`, e);
  }
  // Persistent: the interface and its route outlive the daemon, so there is never a moment
  // without a route (the kernel would answer a pending TCP connect with ICMP unreachable).
  if (ioctl(fd, TUNSETPERSIST, 'unsigned long', persist ? 1 : 0) < 0) {
    const e = koffi.errno();
    close(fd);
    throw new TunError(`TUNSETPERSIST ${name}`, e);
  }
  return fd;
}

/** Writes one packet; false when the queue is full (EAGAIN), throws on anything else. */
export function writePacket(fd: number, pkt: Buffer): boolean {
  if (write(fd, pkt, pkt.length) >= 0) return true;
  const e = koffi.errno();
  if (e === EAGAIN) return false;
  throw new TunError('write', e);
}

/** Reads one packet into `buf`: its length, 0 when none is queued. */
export function readPacket(fd: number, buf: Buffer): number {
  const n = read(fd, buf, buf.length);
  if (n >= 0) return n;
  const e = koffi.errno();
  if (e === EAGAIN || e === 4 /* EINTR */) return 0;
  throw new TunError('read', e);
}

export function closeFd(fd: number): void {
  close(fd);
}
