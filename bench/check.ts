/**
 * bench/check: `uplink check` of configs with 5,000, 25,000 and 60,000 port forwards (distinct
 * ports, and all on one port: every forward but the first an overlap error), each a fresh
 * process. The peer is the YAML parse alone (yaml's parseDocument with positions, as check
 * does) of the same file in a fresh process: what validation adds on top. Validation must grow
 * linearly; the goal is 25,000 forwards in ≤ 3 s. It also times rendering each config's
 * ruleset (in-process), which must grow linearly as well. Prints one JSON line.
 * Usage: node dist/bench/check.js
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UPLINK } from '../src/lab/daemon.js';
import { parseConfigText } from '../src/config/load.js';
import { firewallInput } from '../src/firewall/input.js';
import { renderRuleset } from '../src/firewall/render.js';

function config(n: number, shape: 'distinct' | 'same'): string {
  let s =
    'uplinks:\n  isp1: { interface: wan1, gateway: 192.0.2.1 }\n  isp2: { interface: wan2, gateway: 198.51.100.1 }\n';
  s += 'lan:\n  - { interface: lan0, zone: lan }\nforwards:\n';
  for (let i = 0; i < n; i++) {
    const port = shape === 'same' ? 80 : 1 + (i % 60_000);
    const proto = shape === 'same' || i < 60_000 ? 'tcp' : 'udp';
    s += `  - { proto: ${proto}, port: ${port}, to: "10.1.${(i >> 8) & 255}.${i & 255 || 1}:80" }\n`;
  }
  return s;
}

const PEER = `const { parseDocument, LineCounter } = require('yaml');
const text = require('node:fs').readFileSync(process.argv[1], 'utf8');
parseDocument(text, { lineCounter: new LineCounter(), uniqueKeys: true }).toJS();`;

function timed(argv: string[]): number {
  const t0 = performance.now();
  try {
    execFileSync(process.execPath, argv, { stdio: 'ignore', cwd: process.cwd() });
  } catch {
    /* the overlap shape exits 1: timed all the same */
  }
  return Math.round(performance.now() - t0);
}

const dir = mkdtempSync(join(tmpdir(), 'uplinkd-bench-check-'));
try {
  const out: Record<string, number> = {};
  for (const shape of ['distinct', 'same'] as const) {
    for (const n of [5_000, 25_000, 60_000]) {
      const file = join(dir, `${shape}-${n}.yaml`);
      writeFileSync(file, config(n, shape));
      out[`check_${shape}_${n}_ms`] = timed([UPLINK, 'check', file]);
      out[`peer_yaml_${shape}_${n}_ms`] = timed(['-e', PEER, file]);
      if (shape === 'distinct') {
        // Rendering (in the offload worker in the daemon) must be linear too: it was quadratic.
        const cfg = parseConfigText(config(n, shape), file);
        const t0 = performance.now();
        renderRuleset(firewallInput(cfg, 1));
        out[`render_${n}_ms`] = Math.round(performance.now() - t0);
      }
    }
  }
  const growth = out.check_distinct_60000_ms! / out.check_distinct_5000_ms!;
  console.log(
    JSON.stringify({
      bench: 'check',
      ...out,
      growth_5k_to_60k: +growth.toFixed(2),
      goal_25k_ms: 3000,
      ok: out.check_distinct_25000_ms! <= 3000 && out.check_same_25000_ms! <= 3000,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
