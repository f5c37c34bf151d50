/**
 * bench/firewall: render + apply of a ruleset with 1,000 port forwards (what
 * uplinkd does on a change) against raw `nft -j -f` of the same JSON, in one
 * run, inside a namespace this bench makes (never the host's ruleset). Prints
 * one JSON line with both medians and their ratio (goal ≤ 1.2).
 * Usage: node dist/bench/firewall.js [FORWARDS] [RUNS]
 */
import { fileURLToPath } from 'node:url';
import { Lab } from '../src/lab/harness.js';

const forwards = Number(process.argv[2] ?? 1000);
const runs = Number(process.argv[3] ?? 9);
const child = fileURLToPath(new URL('./firewall-child.js', import.meta.url));

const lab = await Lab.create();
try {
  const ns = await lab.ns('fw');
  for (const l of ['wan1', 'wan2', 'lan0']) await ns.ip(['link', 'add', l, 'type', 'veth', 'peer', 'name', `${l}p`]);
  const r = await ns.exec([process.execPath, child, String(forwards), String(runs)], { timeoutMs: 300_000 });
  process.stdout.write(r.stdout);
} finally {
  await lab.teardown();
}
