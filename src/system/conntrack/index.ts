/** Removes conntrack entries whose flows the routing no longer carries as they are (ctnetlink, in a worker). */
import { Worker } from 'node:worker_threads';
import type { CtFlushJob, CtFlushResult } from './worker.js';

export type { CtFlushResult } from './worker.js';

const TIMEOUT_MS = 30_000;

export function flushSnatFlows(addrs: string[]): Promise<CtFlushResult> {
  return flush({ addrs });
}

/** Removes the flows routed blocks started that their new path cannot carry (codec.ts, reroutedFrom). */
export function flushRoutedFlows(prefixes: string[]): Promise<CtFlushResult> {
  return flush({ prefixes });
}

function flush(job: CtFlushJob): Promise<CtFlushResult> {
  if (!job.addrs?.length && !job.prefixes?.length) return Promise.resolve({ examined: 0, deleted: 0, vanished: 0 });
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: job });
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
