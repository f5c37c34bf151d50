/**
 * bench/report.ts: each bench's JSON line → its rows of bench/REPORT.md's table (value, peer,
 * ratio, goal, met), a crash or an unknown bench as a row of its own, the notes for goals not
 * met, and bench/all.ts's pick of the JSON line from a bench's stdout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmt, renderReport, rowsOf, table, type BenchRun, type Row } from '../../bench/report.js';
import { benchLine } from '../../bench/all.js';

type Want = { [K in Exclude<keyof Row, 'measure'>]?: Row[K] | RegExp } & { measure: RegExp };

const CASES: { name: string; run: BenchRun; rows: Want[] }[] = [
  {
    name: 'failover, instant: the issue goal per profile, the kernel alone as the carrier peer',
    run: {
      label: 'failover 50 instant',
      wallS: 1,
      json: {
        bench: 'failover',
        trials: 50,
        profile: 'instant',
        blackhole_route_p50_ms: 190,
        blackhole_route_p99_ms: 240.2,
        blackhole_lan_p50_ms: 191,
        blackhole_lan_p99_ms: 260,
        carrier_route_p50_ms: 1.2,
        carrier_route_p99_ms: 4,
        carrier_lan_p50_ms: 1.3,
        carrier_lan_p99_ms: 12,
        kernel_only_carrier_route_p50_ms: 1.3,
        kernel_only_carrier_route_p99_ms: 40,
        goals: { blackhole_p99_ms: 250, carrier_p99_ms: 10 },
        watch: { messages: 1, overruns: 0, resyncs: 0 },
      },
    },
    rows: [
      { measure: /instant, 50 trials\): silent death → LAN/, ours: '260 ms', goal: '≤ 250 ms', met: 'no', ratio: '—' },
      { measure: /silent death → gateway/, ours: '240 ms', met: 'yes' },
      {
        measure: /carrier loss → gateway/,
        ours: '4 ms',
        peer: '40 ms (the kernel alone, ignore_routes_with_linkdown)',
        ratio: '0.1×',
        goal: '≤ 10 ms',
        met: 'yes',
      },
      { measure: /carrier loss → LAN/, ours: '12 ms', peer: '—', met: 'no' },
    ],
  },
  {
    name: 'failover, fast: 1 s, taken from the issue when the bench gives none',
    run: {
      label: 'failover 20 fast',
      wallS: 1,
      json: { bench: 'failover', trials: 20, profile: 'fast', blackhole_lan_p99_ms: 700, blackhole_route_p99_ms: 690 },
    },
    rows: [
      { measure: /fast, 20 trials/, ours: '700 ms', goal: '≤ 1,000 ms', met: 'yes' },
      { measure: /gateway/, met: 'yes' },
      { measure: /carrier loss → gateway/, ours: 'n/a', met: 'no' },
      { measure: /carrier loss → LAN/, ours: 'n/a', met: 'no' },
    ],
  },
  {
    name: 'demand: zero lost, the issue goal of 10 ms (not the bench own 20)',
    run: {
      label: 'demand 200',
      wallS: 1,
      json: {
        bench: 'demand',
        cycles: 200,
        packetsSent: 600,
        packetsLost: 0,
        replayDelayMs: { p50: 3, p99: 15, max: 20 },
        peerFreshOneWayMs: { p50: 1, p99: 5 },
        goals: { packetsLost: 0, replayDelayP99Ms: 20 },
      },
    },
    rows: [
      { measure: /packets lost of 600 sent/, ours: '0', goal: '≤ 0', met: 'yes' },
      { measure: /first replayed packet/, ours: '15 ms', peer: /^5 ms/, ratio: '3×', goal: '≤ 10 ms', met: 'no' },
    ],
  },
  {
    name: 'firewall: met by the ratio, not by the time',
    run: {
      label: 'firewall 1000 9',
      wallS: 1,
      json: {
        bench: 'firewall',
        forwards: 1000,
        runs: 9,
        uplinkd_render_apply_median_ms: 110,
        raw_nft_median_ms: 100,
        goal_ratio: 1.2,
      },
    },
    rows: [{ measure: /1,000 forwards, median of 9/, ours: '110 ms', ratio: '1.1×', goal: '≤ 1.2× peer', met: 'yes' }],
  },
  {
    name: 'ingest: no goal, a ratio against ip monitor',
    run: {
      label: 'ingest 100000',
      wallS: 1,
      json: {
        bench: 'ingest',
        n: 100000,
        uplinkd_events: 100000,
        uplinkd_events_per_s: 50000,
        ip_monitor_events: 100000,
        ip_monitor_events_per_s: 100000,
        uplinkd_peak_rss_mb: 120,
        ip_monitor_peak_rss_mb: 3,
      },
    },
    rows: [
      { measure: /burst of 100,000\): events per second/, ours: '50,000 /s', ratio: '0.5×', goal: '—', met: '—' },
      { measure: /peak RSS/, ours: '120 MB', ratio: '40×', met: '—' },
      { measure: /control socket `status` during the burst/, goal: '—', met: '—' },
    ],
  },
  {
    name: 'ingest at 1M: throughput at least the peer’s, RSS and status latency against the issue’s bounds',
    run: {
      label: 'ingest 1000000',
      wallS: 1,
      json: {
        bench: 'ingest',
        n: 1_000_000,
        producer_events_per_s: 260000,
        producer_errors: 0,
        uplinkd_events: 1_000_000,
        uplinkd_events_per_s: 250000,
        ip_monitor_events: 900000,
        ip_monitor_events_per_s: 200000,
        uplinkd_peak_rss_mb: 160,
        ip_monitor_peak_rss_mb: 3,
        rpc_p50_ms: 2,
        rpc_p99_ms: 60,
        rpc_calls: 300,
        overruns: 1,
        resyncs: 1,
        foreign_count_after: 1_000_000,
        goals: { ratio_min: 1.0, peak_rss_mb: 150, rpc_p99_ms: 50 },
      },
    },
    rows: [
      { measure: /burst of 1,000,000\): events per second/, ratio: '1.25×', goal: '≥ 1× peer', met: 'yes' },
      { measure: /peak RSS/, ours: '160 MB', goal: '≤ 150 MB', met: 'no', note: /1 overruns and 1 resyncs/ },
      { measure: /status` during the burst, p99 of 300/, ours: '60 ms', goal: '≤ 50 ms', met: 'no', note: /p50 2 ms/ },
    ],
  },
  {
    name: 'ingest at 1M slower than the peer: not met',
    run: {
      label: 'ingest 1000000',
      wallS: 1,
      json: { bench: 'ingest', n: 1_000_000, uplinkd_events_per_s: 90, ip_monitor_events_per_s: 100 },
    },
    rows: [
      { measure: /events per second/, ratio: '0.9×', met: 'no' },
      { measure: /peak RSS/ },
      { measure: /status` during the burst/ },
    ],
  },
  {
    name: 'loss: zero false failovers at 1 % with two targets is the goal; the rest are reported',
    run: {
      label: 'loss 600',
      wallS: 1,
      json: {
        bench: 'loss',
        profile: 'instant',
        seconds: 600,
        trials: [
          { loss_pct: 1, targets: 1, false_failovers: 0, wan1_falls: 0 },
          { loss_pct: 1, targets: 2, false_failovers: 1, wan1_falls: 2 },
          { loss_pct: 5, targets: 1, false_failovers: 7, wan1_falls: 7 },
          { loss_pct: 5, targets: 2, false_failovers: 0, wan1_falls: 1 },
        ],
        cpu_pct_per_uplink_median: 4.5,
        cpu_pct_per_uplink_max: 5,
        goals: { false_failovers_1pct_quorum: 0 },
      },
    },
    rows: [
      {
        measure: /1 % random loss on the primary, 2 targets, reliability 1\) in 600 s/,
        ours: '1',
        goal: '≤ 0',
        met: 'no',
        note: /fell from up 2 times/,
      },
      { measure: /1 % random loss on the primary, 1 target\)/, ours: '0', goal: '—', met: '—' },
      { measure: /5 % .* 2 targets/, ours: '0', met: '—' },
      { measure: /5 % .* 1 target\)/, ours: '7', met: '—' },
      { measure: /CPU per uplink probing every 50 ms/, ours: '4.5 %', met: '—' },
    ],
  },
  {
    name: 'hooks: p99 against 10 ms, the shell loop as peer',
    run: {
      label: 'hooks 200',
      wallS: 1,
      json: { bench: 'hooks', trials: 200, ours_p99_ms: 4, peer_ip_monitor_p99_ms: 2, goal_p99_ms: 10 },
    },
    rows: [
      {
        measure: /p99 of 200/,
        ours: '4 ms',
        peer: /^2 ms \(a shell `ip monitor` hook loop\)$/,
        ratio: '2×',
        met: 'yes',
      },
    ],
  },
  {
    name: 'idle: RSS, CPU, start-up against the goals; threads with none',
    run: {
      label: 'idle 20 20 5',
      wallS: 1,
      json: {
        bench: 'idle',
        settle_s: 20,
        measure_s: 20,
        starts: 5,
        startup_ms: { first: 400, p50: 250, max: 400 },
        rss_mb: 80,
        pss_mb: 50,
        rss_by_process: [{ comm: 'node', rss_mb: 80 }],
        threads: 11,
        cpu_ticks: 2,
        cpu_pct: 0.1,
        clk_tck: 100,
        peer: { rss_mb: 4, cpu_pct: 0.05, cpu_ticks: 1 },
        node_baseline_rss_mb: 40,
        node_baseline_start_ms: 50,
        goals: { rss_mb: 60, cpu_pct: 0.1, startup_ms: 300 },
      },
    },
    rows: [
      {
        measure: /from 20 s after start\): RSS/,
        ours: '80 MB',
        ratio: '20×',
        goal: '≤ 60 MB',
        met: 'no',
        note: /node 80 MB.*40 MB/,
      },
      { measure: /CPU over 20 s/, ours: '0.1 %', goal: '≤ 0.1 %', met: 'yes' },
      { measure: /worst of 5 starts/, ours: '400 ms', peer: /^50 ms/, ratio: '8×', goal: '≤ 300 ms', met: 'no' },
      { measure: /threads/, ours: '11', met: '—' },
    ],
  },
  {
    name: 'loop-delay: a delay row per load against idle, a failover row where one ran',
    run: {
      label: 'loop-delay',
      wallS: 1,
      json: {
        bench: 'loop-delay',
        bound_ms: 750,
        slack_ms: 50,
        loads: [
          { load: 'idle', what: 'no load', p99_ms: 10.5, max_ms: 20, failover_ms: 700 },
          { load: 'routes', what: '100 routes', p99_ms: 21, max_ms: 60, failover_ms: 820 },
          { load: 'hooks', what: 'hook storm', p99_ms: 12, max_ms: 30 },
        ],
      },
    },
    rows: [
      {
        measure: /event-loop delay, 100 routes/,
        ours: 'p99 21 / max 60 ms',
        peer: /^p99 10.5 \/ max 20 ms/,
        ratio: '2×',
      },
      // The goal: the bound plus slack, or the idle failover plus slack if that is more.
      { measure: /failover .* during: 100 routes/, ours: '820 ms', goal: '≤ 800 ms', met: 'no' },
      { measure: /event-loop delay, hook storm/, ours: 'p99 12 / max 30 ms', met: '—' },
    ],
  },
  {
    name: 'check: time and RSS per size, the goal only at 100k, the overlap shape at the largest',
    run: {
      label: 'check 1000 100000',
      wallS: 1,
      json: {
        bench: 'check',
        sizes: [1000, 100000],
        check_distinct_1000_ms: 400,
        check_distinct_1000_rss_mb: 80,
        peer_yaml_distinct_1000_ms: 200,
        peer_yaml_distinct_1000_rss_mb: 70,
        check_distinct_100000_ms: 2900,
        check_distinct_100000_rss_mb: 310,
        peer_yaml_distinct_100000_ms: 2000,
        peer_yaml_distinct_100000_rss_mb: 250,
        check_same_100000_ms: 3100,
        check_same_100000_rss_mb: 290,
        goal_forwards: 100000,
        goal_ms: 3000,
        goal_rss_mb: 300,
      },
    },
    rows: [
      { measure: /of 1k forwards: time/, ours: '400 ms', ratio: '2×', goal: '—', met: '—' },
      { measure: /of 1k forwards: peak RSS/, ours: '80 MB', met: '—' },
      { measure: /of 100k forwards: time/, ours: '2,900 ms', goal: '≤ 3,000 ms', met: 'yes' },
      { measure: /of 100k forwards: peak RSS/, ours: '310 MB', goal: '≤ 300 MB', met: 'no', note: /250 MB/ },
      { measure: /100k forwards on one port \(99999 overlap errors\): time/, ours: '3,100 ms', met: 'no' },
      { measure: /on one port .*peak RSS/, ours: '290 MB', met: 'yes' },
    ],
  },
  {
    name: 'reload: the worst failover against the bound or the peer, plus slack',
    run: {
      label: 'reload 60000 3',
      wallS: 1,
      json: {
        bench: 'reload-failover',
        forwards: 60000,
        trials: 3,
        bound_ms: 750,
        slack_ms: 50,
        peer_no_reload_max_ms: 780,
        grow_reload_failover_max_ms: 820,
        shrink_reload_failover_max_ms: 700,
        plan_failover_max_ms: 760,
        grow_reload_ms: [900, 1200, 1000],
      },
    },
    rows: [
      { measure: /during `uplink reload` \/ `plan` of 60,000 forwards/, ours: '820 ms', goal: '≤ 830 ms', met: 'yes' },
      { measure: /reload` onto 60,000 forwards: time/, ours: '1,200 ms', met: '—' },
    ],
  },
  {
    name: 'a crashed bench is a row, never missing',
    run: { label: 'demand 200', wallS: 3, error: 'exited with 1: Error: boom' },
    rows: [{ measure: /`demand 200`/, ours: 'failed: no result', met: '—', note: /boom/ }],
  },
  {
    name: 'an unknown bench is a row',
    run: { label: 'new 1', wallS: 1, json: { bench: 'new' } },
    rows: [{ measure: /new: unknown bench/, met: '—' }],
  },
];

for (const c of CASES) {
  test(`bench report: ${c.name}`, () => {
    const rows = rowsOf(c.run);
    assert.equal(rows.length, c.rows.length, rows.map((r) => r.measure).join('\n'));
    c.rows.forEach((want, i) => {
      const got = rows[i]!;
      assert.match(got.measure, want.measure);
      for (const [k, v] of Object.entries(want)) {
        if (k === 'measure') continue;
        const actual = got[k as keyof Row];
        if (v instanceof RegExp) assert.match(String(actual), v, `${got.measure}: ${k}`);
        else assert.equal(actual, v, `${got.measure}: ${k}`);
      }
      if (got.met !== 'no' && c.run.json) assert.equal(got.note, undefined, 'notes only for goals not met');
    });
  });
}

test('bench report: numbers keep about three digits', () => {
  for (const [v, unit, want] of [
    [1234.5, 'ms', '1,235 ms'],
    [12.345, 'ms', '12.3 ms'],
    [1.2345, '%', '1.23 %'],
    [0, '', '0'],
    [undefined, 'ms', 'n/a'],
  ] as const)
    assert.equal(fmt(v, unit), want);
});

test('bench report: the whole report: machine, one table, the goals not met, failed benches', () => {
  const md = renderReport({
    date: '2026-12-04T10:20:30.000Z',
    machine: {
      cpu: 'Test CPU',
      cpus: 2,
      ramGb: 4,
      kernel: '6.1.0',
      node: 'v20.0.0',
      nft: 'nftables v1.0.6',
      iproute2: 'iproute2-6.1.0',
    },
    runs: CASES.map((c) => c.run),
    command: 'node dist/bench/all.js',
    wallS: 100,
  });
  assert.match(md, /^# uplinkd benchmarks\n/);
  assert.match(md, /Date: 2026-12-04 10:20 UTC/);
  assert.match(md, /Test CPU, 2 CPUs, 4 GB RAM; kernel 6\.1\.0; Node v20\.0\.0; nftables v1\.0\.6; iproute2-6\.1\.0/);
  assert.match(md, /`npm run bench`/);
  assert.equal(
    md.match(/^\| measure \| uplinkd \| peer \(what\) \| ratio \| goal \| met \|$/gm)?.length,
    1,
    'one table',
  );
  const body = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| measure'));
  assert.equal(
    body.length,
    CASES.reduce((a, c) => a + c.rows.length, 0),
    'a row per measure',
  );
  // The table follows the order, whatever order the benches ran in.
  assert.ok(body.findIndex((l) => l.includes('instant')) < body.findIndex((l) => l.includes('fast, 20')));
  assert.ok(body.findIndex((l) => l.includes('dial on demand')) < body.findIndex((l) => l.includes('uplink check')));
  assert.match(md, /## Goals not met \(\d+ of \d+\)\n\n- \*\*failover \(instant/);
  assert.match(md, /## Benches that failed\n\n- `demand 200`: exited with 1: Error: boom/);
  assert.match(md, /- `node dist\/bench\/reload\.js 60000 3`: 1 s/);
});

test('bench report: a pipe in a cell does not break the table', () => {
  const t = table([{ measure: 'a | b', ours: '1', peer: '—', ratio: '—', goal: '—', met: '—' }]);
  assert.match(t, /\| a \\\| b \|/);
});

test('bench runner: the last stdout line that is JSON with a bench key', () => {
  for (const [stdout, want] of [
    ['{"bench":"a","x":1}\n', 'a'],
    ['noise\n{"bench":"a"}\n{"bench":"b"}\n\n', 'b'],
    ['{"bench":"a"}\n{"other":1}\n{not json\n', 'a'],
    ['{"x":1}\n', undefined],
    ['', undefined],
  ] as const)
    assert.equal(benchLine(stdout)?.bench, want, JSON.stringify(stdout));
});
