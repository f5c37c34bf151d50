/** Bytes from the kernel's CSPRNG (/dev/urandom), without loading Node's crypto for them (see src/lazy.ts). */
import { closeSync, openSync, readSync } from 'node:fs';

export function urandom(n: number): Buffer {
  const b = Buffer.alloc(n);
  const fd = openSync('/dev/urandom', 'r');
  try {
    let got = 0;
    while (got < n) got += readSync(fd, b, got, n - got, null);
  } finally {
    closeSync(fd);
  }
  return b;
}
