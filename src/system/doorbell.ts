/**
 * A doorbell for a worker thread that blocks in poll(2) on a socket: the main thread rings an
 * eventfd after it posts a message, so the worker sleeps until the kernel or the main thread
 * has something for it, instead of waking every few ms to look at its message port (which
 * costs an idle daemon CPU for nothing).
 */
import koffi from 'koffi';
import { libc } from './libc.js';

const eventfd = libc.func('int eventfd(unsigned int, int)');
const write = libc.func('long write(int, void *, size_t)');
const read = libc.func('long read(int, _Out_ void *, size_t)');
const poll = libc.func('int poll(_Inout_ void *, unsigned long, int)');

const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;
const POLLIN = 1;
const ONE = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);

/** A new doorbell's fd (process-wide: the main thread rings the number the worker made). */
export function openDoorbell(): number {
  const fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) throw new Error(`eventfd: errno ${koffi.errno()}`);
  return fd;
}

export function ring(fd: number): void {
  write(fd, ONE, 8);
}

/**
 * Waits until one of `fds` is readable or the bell rang (then it is reset); `ms` < 0 waits
 * without end. Returns whether the bell rang.
 */
export function waitOrBell(fds: number[], bell: number, ms: number): boolean {
  const all = [...fds, bell];
  const pfd = Buffer.alloc(8 * all.length);
  all.forEach((fd, i) => {
    pfd.writeInt32LE(fd, 8 * i);
    pfd.writeInt16LE(POLLIN, 8 * i + 4);
  });
  if (poll(pfd, all.length, ms) <= 0) return false;
  const rang = (pfd.readInt16LE(8 * fds.length + 6) & POLLIN) !== 0;
  if (rang) read(bell, Buffer.alloc(8), 8);
  return rang;
}
