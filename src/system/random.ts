/** Bytes from the kernel's CSPRNG (/dev/urandom), without loading Node's crypto for them (see src/lazy.ts). */
import { openSync, readSync } from 'node:fs';

// Opened once (close-on-exec, as Node opens files): DNS probes ask for an id every round.
let fd: number | undefined;

export function urandom(n: number): Buffer {
  const b = Buffer.alloc(n);
  fd ??= openSync('/dev/urandom', 'r');
  let got = 0;
  while (got < n) got += readSync(fd, b, got, n - got, null);
  return b;
}
