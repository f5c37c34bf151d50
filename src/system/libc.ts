/**
 * The libc calls several of our koffi users share (netlink and probe sockets, the TUN proxy,
 * route ops, the instance lock):
 * one library handle, one declaration each, one poll helper.
 */
import koffi from 'koffi';

export const libc = koffi.load('libc.so.6');
export const close = libc.func('int close(int)');
export const strerror = libc.func('const char *strerror(int)');
export const socket = libc.func('int socket(int, int, int)');
export const bind = libc.func('int bind(int, void *, uint32_t)');
export const setsockopt = libc.func('int setsockopt(int, int, int, void *, uint32_t)');
export const send = libc.func('long send(int, void *, size_t, int)');
export const sendto = libc.func('long sendto(int, void *, size_t, int, void *, uint32_t)');
export const recv = libc.func('long recv(int, _Out_ void *, size_t, int)');
export const ifNameToIndex = libc.func('unsigned int if_nametoindex(const char *)');
const poll = libc.func('int poll(_Inout_ void *, unsigned long, int)');

/** Waits up to `ms` for `fd` to be readable; true when it is. */
export function waitReadable(fd: number, ms: number): boolean {
  const pfd = Buffer.alloc(8);
  pfd.writeInt32LE(fd, 0);
  pfd.writeInt16LE(1 /* POLLIN */, 4);
  return poll(pfd, 1, ms) > 0;
}
