/**
 * Route floods for tests and benchmarks, of blackhole /32s (10.x.y.z) in a foreign table:
 * `ip -batch` files, and src/lab/route-flood.js (batched RTM_NEWROUTE, ~10× faster).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Lab, Ns } from '../../src/lab/harness.js';

const FLOOD = fileURLToPath(new URL('../../src/lab/route-flood.js', import.meta.url));

/** What route-flood.js printed: routes sent, those the kernel refused (and why), its time. */
export interface Flooded {
  routes: number;
  errors: number;
  firstError?: string;
  seconds: number;
}

/** Adds (or deletes) N routes in `table` from inside `ns` with route-flood.js. */
export async function routeFlood(ns: Ns, n: number, table: number, op: 'add' | 'del' = 'add'): Promise<Flooded> {
  const r = await ns.exec([process.execPath, FLOOD, String(n), String(table), op], { timeoutMs: 600_000 });
  return JSON.parse(r.stdout) as Flooded;
}

export function floodBatch(lab: Lab, n: number, table: number, op: 'add' | 'del' = 'add'): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++)
    lines.push(`route ${op} blackhole 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32 table ${table}`);
  const file = lab.tempFile(`flood-${op}-${n}`, '');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
