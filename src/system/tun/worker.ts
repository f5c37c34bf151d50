/**
 * Reads one TUN: poll(200 ms) + read through koffi, posting batches of packets to the main
 * thread (docs/platform-notes.md measured 90–125k packets/s this way). The poll timeout is how
 * soon a stop request is seen.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readPacket, waitReadable } from './ffi.js';

const { fd, stop } = workerData as { fd: number; stop: SharedArrayBuffer };
const stopFlag = new Int32Array(stop);
const buf = Buffer.alloc(65536);
const MAX_BATCH = 256;

try {
  while (Atomics.load(stopFlag, 0) === 0) {
    if (!waitReadable(fd, 200)) continue;
    const batch: Uint8Array[] = [];
    for (let n = readPacket(fd, buf); n > 0; n = batch.length < MAX_BATCH ? readPacket(fd, buf) : 0) {
      batch.push(Uint8Array.prototype.slice.call(buf, 0, n));
    }
    if (batch.length)
      parentPort!.postMessage(
        batch,
        batch.map((b) => b.buffer as ArrayBuffer),
      );
  }
} catch (e) {
  parentPort!.postMessage({ error: (e as Error).message });
}
