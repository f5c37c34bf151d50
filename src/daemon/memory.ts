/** The daemon's memory for the `memory` control method (the soak tests read it). */
import type * as V8 from 'node:v8';
import { builtin } from '../lazy.js';

const v8 = builtin<typeof V8>('node:v8');

const mb = (n: number) => Math.round((n / 1048576) * 100) / 100;

/** In MB; with `gc` and a daemon run with --expose-gc, after a full collection. */
export function memoryNow(gc: boolean): { rssMb: number; heapUsedMb: number; heapDataMb: number; gcForced: boolean } {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (gc) collect?.();
  const m = process.memoryUsage();
  // Data, not code: compiled code grows for minutes while V8 tiers up, and is no leak.
  const data = v8()
    .getHeapSpaceStatistics()
    .filter((sp) => !sp.space_name.startsWith('code'))
    .reduce((n, sp) => n + sp.space_used_size, 0);
  return { rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), heapDataMb: mb(data), gcForced: gc && collect !== undefined };
}
