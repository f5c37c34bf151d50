/** Runs inside the bench's namespace: measures uplinkd's render + apply and raw `nft -j -f` of the same batch. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderRuleset, type FirewallInput } from '../src/firewall/render.js';
import { nftApply } from '../src/system/nft.js';

const forwards = Number(process.argv[2]);
const runs = Number(process.argv[3]);
const input = (generation: number): FirewallInput => ({
  uplinks: [
    { name: 'wan1', iface: 'wan1', mark: 0x10000 },
    { name: 'wan2', iface: 'wan2', mark: 0x20000 },
  ],
  zones: [{ iface: 'lan0', zone: 'lan' }],
  forwards: Array.from(
    { length: forwards },
    (_, i) => ({ proto: i % 2 ? 'udp' : 'tcp', port: 10000 + i, to: `10.77.${(i >> 8) & 255}.${i & 255}:80` }) as const,
  ),
  input: [{ proto: 'tcp', port: 22, from: ['192.0.2.0/24'] }],
  fwmarkMask: 0xff0000,
  generation,
});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const ours: number[] = [];
const raw: number[] = [];
const file = join(mkdtempSync(join(tmpdir(), 'uplinkd-bench-')), 'ruleset.json');
for (let i = 1; i <= runs; i++) {
  // Alternate, so both see the same machine state.
  const t0 = performance.now();
  await nftApply(renderRuleset(input(i)));
  ours.push(performance.now() - t0);
  writeFileSync(file, JSON.stringify(renderRuleset(input(1000 + i))));
  const t1 = performance.now();
  execFileSync('nft', ['-j', '-f', file]);
  raw.push(performance.now() - t1);
}
const rules = JSON.parse(execFileSync('nft', ['-j', 'list', 'table', 'inet', 'uplinkd']).toString()).nftables.filter(
  (e: object) => 'rule' in e,
).length;
console.log(
  JSON.stringify({
    bench: 'firewall',
    forwards,
    runs,
    rules_in_table: rules,
    uplinkd_render_apply_median_ms: +median(ours).toFixed(1),
    raw_nft_median_ms: +median(raw).toFixed(1),
    ratio: +(median(ours) / median(raw)).toFixed(2),
    goal_ratio: 1.2,
  }),
);
