/**
 * A stand-in for systemd's notify socket, for tests: an AF_UNIX datagram socket bound at a
 * temp path (or the '@abstract' name given), read by a worker thread (this same file) with
 * poll + recv through the system door's libc, each datagram one message.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { close as c_close, recv as c_recv, waitReadable } from '../system/libc.js';
import { bindDatagramSocket } from '../system/sd-notify.js';

interface Init {
  notifyReceiverFd: number;
  stop: SharedArrayBuffer;
}

export interface NotifyReceiver {
  /** What to put in NOTIFY_SOCKET. */
  readonly path: string;
  /** Every datagram so far, in arrival order. */
  readonly messages: string[];
  /** The first message after the one the last `next` returned that matches; rejects after `timeoutMs`. */
  next(pred: (m: string) => boolean, timeoutMs: number): Promise<string>;
  close(): void;
}

export async function openNotifyReceiver(path?: string): Promise<NotifyReceiver> {
  const dir = path ? undefined : mkdtempSync(join(tmpdir(), 'uplinkd-notify-'));
  const where = path ?? join(dir!, 'notify.sock');
  const fd = bindDatagramSocket(where);
  const stop = new SharedArrayBuffer(4);
  const worker = new Worker(new URL(import.meta.url), { workerData: { notifyReceiverFd: fd, stop } satisfies Init });
  worker.unref();
  const messages: string[] = [];
  const waiters = new Set<() => void>();
  let cursor = 0;
  worker.on('message', (m: string) => {
    messages.push(m);
    for (const w of [...waiters]) w();
  });
  let failed = '';
  worker.on('error', (e) => (failed = `; the reader failed: ${e.message}`));
  worker.once('exit', () => c_close(fd)); // only after the worker is done with the fd
  await new Promise((resolve) => worker.once('online', resolve));
  return {
    path: where,
    messages,
    next(pred, timeoutMs) {
      return new Promise((resolve, reject) => {
        const look = () => {
          for (let i = cursor; i < messages.length; i++) {
            if (!pred(messages[i]!)) continue;
            cursor = i + 1;
            waiters.delete(look);
            clearTimeout(timer);
            resolve(messages[i]!);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          waiters.delete(look);
          reject(
            new Error(`no matching notification within ${timeoutMs} ms${failed}; got:\n${messages.join('\n---\n')}`),
          );
        }, timeoutMs);
        if (!look()) waiters.add(look);
      });
    },
    close() {
      Atomics.store(new Int32Array(stop), 0, 1);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The worker: read until told to stop (seen within one poll timeout).
if (!isMainThread && (workerData as Partial<Init> | undefined)?.notifyReceiverFd !== undefined) {
  const { notifyReceiverFd: fd, stop } = workerData as Init;
  const flag = new Int32Array(stop);
  const buf = Buffer.alloc(65536);
  while (Atomics.load(flag, 0) === 0) {
    if (!waitReadable(fd, 50)) continue;
    for (let n = Number(c_recv(fd, buf, buf.length, 0)); n >= 0; n = Number(c_recv(fd, buf, buf.length, 0)))
      parentPort!.postMessage(buf.toString('utf8', 0, n));
  }
}
