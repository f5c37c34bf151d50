/**
 * Probe sockets through koffi (Node cannot open ICMP sockets, nor set SO_MARK or
 * SO_BINDTODEVICE). Every call here is synchronous and the sockets are non-blocking: the probe
 * worker polls them; the main thread uses them only to send one router solicitation.
 */
import koffi from 'koffi';
import { constants as osConstants } from 'node:os';
import {
  bind as c_bind,
  close as c_close,
  ifNameToIndex as c_if_nametoindex,
  libc,
  recv as c_recv,
  send as c_send,
  setsockopt as c_setsockopt,
  socket as c_socket,
  strerror as c_strerror,
} from '../libc.js';

const c_connect = libc.func('int connect(int, void *, uint32_t)');
const c_poll = libc.func('int poll(_Inout_ void *, unsigned long, int)');
const c_inet_pton = libc.func('int inet_pton(int, const char *, _Out_ void *)');

export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000; // never leak probe sockets into jobs we spawn
export const IPPROTO_ICMP = 1;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
const SOL_SOCKET = 1;
const SO_BINDTODEVICE = 25;
const SO_MARK = 36;
const SOL_IP = 0;
const IP_RECVERR = 11;
const SOL_IPV6 = 41;
const IPV6_RECVERR = 25;
const IPV6_MULTICAST_HOPS = 18;
const MSG_DONTWAIT = 0x40;
export const POLLIN = 0x1;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const EAGAIN = 11;
export const EINTR = 4;
export const EACCES = 13;
export const EPERM = 1;

const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

/** "EADDRNOTAVAIL (Cannot assign requested address)". */
export function errnoText(errno: number): string {
  const name = errnoNames.get(errno) ?? `errno ${errno}`;
  let text = '';
  try {
    text = String(c_strerror(errno) ?? '');
  } catch {
    /* no text then */
  }
  return text ? `${name} (${text})` : name;
}

export class SockError extends Error {
  constructor(
    readonly op: string,
    readonly errno: number,
    detail = '',
  ) {
    super(`${op}${detail ? ` ${detail}` : ''}: ${errnoText(errno)}`);
  }
}

function check(op: string, rc: number, detail?: string): number {
  if (rc < 0) throw new SockError(op, koffi.errno(), detail);
  return rc;
}

const int32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
};

/** struct sockaddr_in / sockaddr_in6 for an address ("fe80::1%eth0" carries its scope). */
export function sockaddr(family: 4 | 6, address: string, port: number): Buffer {
  if (family === 4) {
    const sa = Buffer.alloc(16);
    sa.writeUInt16LE(AF_INET, 0);
    sa.writeUInt16BE(port, 2);
    if (c_inet_pton(AF_INET, address, sa.subarray(4, 8)) !== 1) throw new Error(`bad IPv4 address ${address}`);
    return sa;
  }
  const [addr, scope] = address.split('%') as [string, string | undefined];
  const sa = Buffer.alloc(28);
  sa.writeUInt16LE(AF_INET6, 0);
  sa.writeUInt16BE(port, 2);
  const bytes = Buffer.alloc(16);
  if (c_inet_pton(AF_INET6, addr, bytes) !== 1) throw new Error(`bad IPv6 address ${address}`);
  bytes.copy(sa, 8);
  if (scope) {
    const idx = /^\d+$/.test(scope) ? Number(scope) : c_if_nametoindex(scope);
    if (!idx) throw new Error(`unknown interface ${scope} in ${address}`);
    sa.writeUInt32LE(idx, 24);
  }
  return sa;
}

/** A non-blocking, close-on-exec socket; throws SockError. */
export function openSocket(family: 4 | 6, type: number, proto: number): number {
  return check('socket', c_socket(family === 4 ? AF_INET : AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto));
}

/** The errno of a socket() attempt, 0 on success (the socket is closed again). */
export function trySocket(family: 4 | 6, type: number, proto: number): number {
  const fd = c_socket(family === 4 ? AF_INET : AF_INET6, type | SOCK_CLOEXEC, proto);
  if (fd < 0) return koffi.errno();
  c_close(fd);
  return 0;
}

export function setMark(fd: number, mark: number): void {
  check(
    'setsockopt SO_MARK',
    c_setsockopt(fd, SOL_SOCKET, SO_MARK, int32(mark | 0), 4),
    `0x${(mark >>> 0).toString(16)}`,
  );
}

export function bindToDevice(fd: number, dev: string): void {
  const b = Buffer.from(`${dev}\0`, 'ascii');
  check('setsockopt SO_BINDTODEVICE', c_setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, b, b.length), dev);
}

/** The hop limit of multicast packets sent on this IPv6 socket (router solicitations need 255). */
export function setMulticastHops(fd: number, hops: number): void {
  check('setsockopt IPV6_MULTICAST_HOPS', c_setsockopt(fd, SOL_IPV6, IPV6_MULTICAST_HOPS, int32(hops), 4));
}

/** ICMP errors for our packets then fail recv() quickly instead of timing out. */
export function recvErrors(fd: number, family: 4 | 6): void {
  c_setsockopt(fd, family === 4 ? SOL_IP : SOL_IPV6, family === 4 ? IP_RECVERR : IPV6_RECVERR, int32(1), 4);
}

export function bindTo(fd: number, family: 4 | 6, address: string): void {
  const sa = sockaddr(family, address, 0);
  check('bind', c_bind(fd, sa, sa.length), address);
}

export function connectTo(fd: number, family: 4 | 6, address: string, port: number): void {
  const sa = sockaddr(family, address, port);
  check('connect', c_connect(fd, sa, sa.length), port ? `${family === 6 ? `[${address}]` : address}:${port}` : address);
}

export function sendBuf(fd: number, b: Buffer): void {
  check('send', c_send(fd, b, b.length, 0));
}

/** Non-blocking receive: bytes read, or -1 when nothing is queued; throws SockError (e.g. EHOSTUNREACH). */
export function recvBuf(fd: number, buf: Buffer): number {
  const n = Number(c_recv(fd, buf, buf.length, MSG_DONTWAIT));
  if (n >= 0) return n;
  const errno = koffi.errno();
  if (errno === EAGAIN || errno === EINTR) return -1;
  throw new SockError('recv', errno);
}

/** poll() on many fds; returns revents per fd (0 when nothing happened). */
export function pollFds(fds: number[], timeoutMs: number): number[] {
  const pfd = Buffer.alloc(8 * fds.length);
  fds.forEach((fd, i) => {
    pfd.writeInt32LE(fd, i * 8);
    pfd.writeInt16LE(POLLIN, i * 8 + 4);
  });
  const rc = c_poll(pfd, fds.length, Math.max(0, Math.floor(timeoutMs)));
  if (rc <= 0) return fds.map(() => 0);
  return fds.map((_, i) => pfd.readInt16LE(i * 8 + 6));
}

export function closeFd(fd: number): void {
  c_close(fd);
}
