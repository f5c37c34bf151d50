/** A persistent TUN read by a worker thread and written from the main thread. */
import { Worker } from 'node:worker_threads';
import { closeFd, openTun, writePacket } from './ffi.js';

export interface TunHandle {
  readonly name: string;
  /** Writes packets back into the kernel (routed as if they had arrived on the TUN); how many went in. Never throws. */
  write(pkts: Buffer[]): number;
  /** Stops reading and closes our fd; the persistent interface stays. */
  close(): Promise<void>;
}

export function openTunReader(
  name: string,
  onPackets: (pkts: Buffer[]) => void,
  onError: (message: string) => void,
): TunHandle {
  const fd = openTun(name);
  const stop = new SharedArrayBuffer(4);
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { fd, stop } });
  worker.on('message', (m: Uint8Array[] | { error: string }) => {
    if (Array.isArray(m)) onPackets(m.map((u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength)));
    else onError(m.error);
  });
  worker.on('error', (e) => onError(e.message));
  let closed: Promise<void> | undefined;
  return {
    name,
    // Never throws: a proxy set down or deleted under us (EIO, EBADFD) must not end the daemon.
    write(pkts) {
      if (closed) return 0;
      let n = 0;
      try {
        for (const p of pkts) if (writePacket(fd, p)) n++;
      } catch (e) {
        onError((e as Error).message);
      }
      return n;
    },
    close() {
      closed ??= (async () => {
        Atomics.store(new Int32Array(stop), 0, 1);
        await new Promise<void>((resolve) => {
          worker.once('exit', () => resolve());
          // A worker that already died has nothing left to wait for.
          if (worker.threadId < 0) resolve();
        });
        closeFd(fd);
      })();
      return closed;
    },
  };
}
