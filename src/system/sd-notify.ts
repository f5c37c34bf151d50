/**
 * systemd's notify protocol (sd_notify(3)) without libsystemd: Node has no unix datagram
 * sockets, so one AF_UNIX/SOCK_DGRAM socket is made through koffi and each message is one
 * `sendto` to $NOTIFY_SOCKET. The socket is non-blocking: a stuck or flooded service manager
 * costs us a notification (send returns false), never a stalled event loop.
 */
import koffi from 'koffi';
import { constants as osConstants, endianness } from 'node:os';
import { bind as c_bind, close as c_close, sendto as c_sendto, socket as c_socket, strerror } from './libc.js';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000; // never leak into the jobs and hooks we spawn
const MSG_NOSIGNAL = 0x4000;
const SUN_PATH_MAX = 108;

const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));
function errnoText(op: string): string {
  const errno = koffi.errno();
  let text = '';
  try {
    text = String(strerror(errno) ?? '');
  } catch {
    /* the name alone then */
  }
  return `${op}: ${errnoNames.get(errno) ?? `errno ${errno}`}${text ? ` (${text})` : ''}`;
}

/**
 * A `struct sockaddr_un` and its length for a socket path; '@name' is an abstract socket
 * (first path byte NUL, length without a terminator). Throws when the path is empty or too long.
 */
export function sockaddrUn(path: string): { addr: Buffer; len: number } {
  const name = Buffer.from(path, 'utf8');
  const abstract = path.startsWith('@');
  if (name.length < 2 && abstract) throw new Error(`empty abstract socket name "${path}"`);
  if (name.length === 0) throw new Error('empty socket path');
  if (name.length + (abstract ? 0 : 1) > SUN_PATH_MAX) throw new Error(`socket path too long: "${path}"`);
  const addr = Buffer.alloc(2 + SUN_PATH_MAX);
  if (endianness() === 'LE') addr.writeUInt16LE(AF_UNIX, 0);
  else addr.writeUInt16BE(AF_UNIX, 0);
  name.copy(addr, 2);
  if (abstract) addr[2] = 0;
  return { addr, len: 2 + name.length + (abstract ? 0 : 1) };
}

/** A non-blocking, close-on-exec AF_UNIX datagram socket bound to `path` (a receiver); its fd. Throws. */
export function bindDatagramSocket(path: string): number {
  const { addr, len } = sockaddrUn(path);
  const fd = c_socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) as number;
  if (fd < 0) throw new Error(errnoText('socket'));
  if ((c_bind(fd, addr, len) as number) < 0) {
    const e = new Error(errnoText(`bind ${path}`));
    c_close(fd);
    throw e;
  }
  return fd;
}

/** One notify socket: opened on the first send, reused after. Never throws. */
export class NotifySocket {
  private fd = -1;
  private addr?: { addr: Buffer; len: number };
  /** Why the last failed send failed ("sendto: ENOENT (No such file or directory)"). */
  lastError?: string;

  constructor(readonly path: string) {}

  /** Sends `msg` as one datagram; true when the whole of it went. */
  send(msg: string): boolean {
    try {
      this.addr ??= sockaddrUn(this.path);
      if (this.fd < 0) {
        const fd = c_socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) as number;
        if (fd < 0) return this.fail(errnoText('socket'));
        this.fd = fd;
      }
      const data = Buffer.from(msg, 'utf8');
      const n = Number(c_sendto(this.fd, data, data.length, MSG_NOSIGNAL, this.addr.addr, this.addr.len));
      if (n < 0) return this.fail(errnoText(`sendto ${this.path}`));
      if (n !== data.length) return this.fail(`sendto ${this.path}: sent ${n} of ${data.length} bytes`);
      this.lastError = undefined;
      return true;
    } catch (e) {
      return this.fail(e instanceof Error ? e.message : String(e));
    }
  }

  close(): void {
    if (this.fd >= 0) c_close(this.fd);
    this.fd = -1;
  }

  private fail(why: string): false {
    this.lastError = why;
    return false;
  }
}

const sockets = new Map<string, NotifySocket>();

/** Sends one notification to `socketPath` ('/path' or '@abstract'); false on any failure. Never throws. */
export function sdNotify(socketPath: string, message: string): boolean {
  let s = sockets.get(socketPath);
  if (!s) sockets.set(socketPath, (s = new NotifySocket(socketPath)));
  return s.send(message);
}

/**
 * $NOTIFY_SOCKET when it names a socket we can reach: an absolute path or an abstract name
 * ('@…'). Anything else (unset, empty, systemd's newer `vsock:` addresses) is undefined.
 */
export function notifySocketFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env.NOTIFY_SOCKET;
  if (!v || !(v.startsWith('/') || (v.startsWith('@') && v.length > 1))) return undefined;
  return v;
}

/**
 * How often to send WATCHDOG=1, in ms: half of $WATCHDOG_USEC (as sd_watchdog_enabled(3)
 * advises). Undefined when the watchdog is off, the value is not a positive integer, or
 * $WATCHDOG_PID names another process.
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number | undefined {
  const usec = env.WATCHDOG_USEC?.trim();
  if (!usec || !/^\d+$/.test(usec) || Number(usec) <= 0) return undefined;
  const wpid = env.WATCHDOG_PID?.trim();
  if (wpid && Number(wpid) !== pid) return undefined;
  return Math.max(1, Math.floor(Number(usec) / 2000));
}
