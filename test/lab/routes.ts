/** Route floods for tests and benchmarks: `ip -batch` files of blackhole routes in a foreign table. */
import { writeFileSync } from 'node:fs';
import type { Lab } from '../../src/lab/harness.js';

export function floodBatch(lab: Lab, n: number, table: number, op: 'add' | 'del' = 'add'): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++)
    lines.push(`route ${op} blackhole 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32 table ${table}`);
  const file = lab.tempFile(`flood-${op}-${n}`, '');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
