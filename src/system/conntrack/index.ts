/** Removes conntrack entries pinned by SNAT to addresses that no longer carry traffic. */
import { Worker } from 'node:worker_threads';
import type { CtFlushResult } from './worker.js';

export type { CtFlushResult } from './worker.js';

const TIMEOUT_MS = 30_000;

export function flushSnatFlows(addrs: string[]): Promise<CtFlushResult> {
  if (!addrs.length) return Promise.resolve({ examined: 0, deleted: 0, vanished: 0 });
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: { addrs } });
    const timer = setTimeout(() => {
      void w.terminate();
      reject(new Error(`conntrack cleanup took longer than ${TIMEOUT_MS / 1000}s`));
    }, TIMEOUT_MS);
    w.once('message', (m: { ok: boolean; result?: CtFlushResult; error?: string }) => {
      clearTimeout(timer);
      if (m.ok) resolve(m.result!);
      else reject(new Error(m.error));
    });
    w.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
