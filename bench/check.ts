/**
 * bench/check: `uplink check` of configs with 5,000, 25,000 and 60,000 port forwards (or the
 * sizes given; `npm run bench` gives 1,000, 10,000 and 100,000) (distinct ports, and all on one
 * port: every forward but the first an overlap error), each a fresh process, timed and its peak
 * RSS taken (getrusage's maxrss at exit). The peer is the YAML parse alone (yaml's parseDocument
 * with positions, as check does) of the same file in a fresh process: what validation adds on
 * top. Validation must grow linearly; the goal is 100,000 forwards in ≤ 3 s and ≤ 300 MB (ok:
 * every size up to that). It also times rendering each config's ruleset (in-process), which
 * must grow linearly as well. Prints one JSON line.
 * Usage: node dist/bench/check.js [FORWARDS ...]
 */
import { spawnSync } from 'node:child_process';
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

/** Loaded first in the timed process: prints its peak RSS (kB) to stderr on the way out. */
const MAXRSS = `data:text/javascript,process.on('exit',()=>process.stderr.write('\\nMAXRSS_KB='+process.resourceUsage().maxRSS+'\\n'))`;
const GOAL_MS = 3000;
const GOAL_RSS_MB = 300;
const GOAL_FORWARDS = 100_000;

function timed(argv: string[]): { ms: number; rssMb: number } {
  const t0 = performance.now();
  // The overlap shape exits 1: timed all the same.
  const { stderr } = spawnSync(process.execPath, ['--import', MAXRSS, ...argv], {
    stdio: ['ignore', 'ignore', 'pipe'],
    cwd: process.cwd(),
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  const ms = Math.round(performance.now() - t0);
  const kb = /MAXRSS_KB=(\d+)/.exec(stderr);
  return { ms, rssMb: kb ? Math.round(Number(kb[1]) / 1024) : Number.NaN };
}

const argSizes = process.argv
  .slice(2)
  .map(Number)
  .filter((x) => x > 0);
const SIZES = argSizes.length ? argSizes : [5_000, 25_000, 60_000];

const dir = mkdtempSync(join(tmpdir(), 'uplinkd-bench-check-'));
try {
  const out: Record<string, number> = {};
  for (const shape of ['distinct', 'same'] as const) {
    for (const n of SIZES) {
      const file = join(dir, `${shape}-${n}.yaml`);
      writeFileSync(file, config(n, shape));
      const ours = timed([UPLINK, 'check', file]);
      const peer = timed(['-e', PEER, file]);
      out[`check_${shape}_${n}_ms`] = ours.ms;
      out[`check_${shape}_${n}_rss_mb`] = ours.rssMb;
      out[`peer_yaml_${shape}_${n}_ms`] = peer.ms;
      out[`peer_yaml_${shape}_${n}_rss_mb`] = peer.rssMb;
      if (shape === 'distinct') {
        // Rendering (in the offload worker in the daemon) must be linear too: it was quadratic.
        const cfg = parseConfigText(config(n, shape), file);
        const t0 = performance.now();
        renderRuleset(firewallInput(cfg, 1));
        out[`render_${n}_ms`] = Math.round(performance.now() - t0);
      }
    }
  }
  const [lo, hi] = [Math.min(...SIZES), Math.max(...SIZES)];
  const growth = out[`check_distinct_${hi}_ms`]! / out[`check_distinct_${lo}_ms`]!;
  const inGoal = (shape: string, n: number) =>
    out[`check_${shape}_${n}_ms`]! <= GOAL_MS && out[`check_${shape}_${n}_rss_mb`]! <= GOAL_RSS_MB;
  console.log(
    JSON.stringify({
      bench: 'check',
      sizes: SIZES,
      ...out,
      [`growth_${lo}_to_${hi}`]: +growth.toFixed(2),
      goal_forwards: GOAL_FORWARDS,
      goal_ms: GOAL_MS,
      goal_rss_mb: GOAL_RSS_MB,
      ok: SIZES.filter((n) => n <= GOAL_FORWARDS).every((n) => inGoal('distinct', n) && inGoal('same', n)),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
