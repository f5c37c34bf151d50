/** Bytes from the kernel's CSPRNG without loading Node's crypto (see src/lazy.ts): what randomBytes reads too. */
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
