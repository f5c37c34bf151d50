/**
 * bench/all: runs every bench, one after another, each as its own `node dist/bench/X.js ARGS`,
 * takes the JSON line each prints (the last line of its stdout that parses as JSON with a
 * `bench` key), and writes bench/REPORT.md (bench/report.ts: one table, the machine, the date,
 * the goals not met). `--tiny` runs each bench at a tiny size, so that none of them rots (CI
 * does this), and writes nothing unless `--out FILE` says where. `--jobs N` runs N benches at a
 * time (for --tiny only: timings from benches sharing the machine mean little). Exits 1 when a
 * bench crashed, timed out or printed no JSON line; never because a goal is missed.
 * `--results FILE` also writes the run (machine, date, and each bench's label, wall time, JSON
 * line or error) as JSON; `--from FILE` renders the report from such a file without running.
 * Usage: node dist/bench/all.js [--tiny] [--out FILE] [--results FILE] [--from FILE] [--jobs N] [--only NAME,...]
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderReport, type BenchJson, type BenchRun, type Machine } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
/** bench/REPORT.md in the source tree (this file runs from dist/bench/). */
export const REPORT = resolve(here, '../../bench/REPORT.md');

export interface Planned {
  script: string;
  args: string[];
  /** Killed (and counted as failed) after this long. */
  timeoutS: number;
}

const label = (p: Planned) => [p.script, ...p.args].join(' ');

/** Every bench, at full size or tiny. Tiny ones are listed slowest first, for --jobs. */
export function plan(tiny: boolean): Planned[] {
  const b = (script: string, args: (string | number)[], timeoutS: number): Planned => ({
    script,
    args: args.map(String),
    timeoutS,
  });
  if (tiny)
    return [
      b('reload', [100, 1], 150),
      b('loop-delay', [1000, 200, 1, 3], 150),
      b('failover', [2, 'fast'], 150),
      b('failover', [2, 'instant'], 150),
      b('idle', [2, 2, 1], 150),
      b('check', [100, 200], 150),
      b('hooks', [3], 150),
      b('demand', [2], 150),
      b('ingest', [1000], 150),
      b('firewall', [50, 2], 150),
      b('loss', [3], 150),
    ];
  return [
    b('failover', [50, 'instant'], 1800),
    b('failover', [20, 'fast'], 1800),
    b('loss', [600], 1200),
    b('demand', [200], 1800),
    b('firewall', [1000, 9], 900),
    b('ingest', [100_000], 900),
    b('ingest', [1_000_000], 1800),
    b('hooks', [200], 1800),
    b('idle', [20, 20, 5], 900),
    b('loop-delay', [1_000_000, 60_000, 10, 50], 1800),
    b('check', [1_000, 10_000, 100_000], 900),
    b('reload', [60_000, 3], 1800),
  ];
}

/** The last stdout line that is a JSON object with a `bench` key. */
export function benchLine(stdout: string): BenchJson | undefined {
  const lines = stdout.split('\n').reverse();
  for (const l of lines) {
    const t = l.trim();
    if (!t.startsWith('{')) continue;
    try {
      const j = JSON.parse(t) as unknown;
      if (j && typeof j === 'object' && typeof (j as BenchJson).bench === 'string') return j as BenchJson;
    } catch {
      /* not a JSON line */
    }
  }
  return undefined;
}

/** Runs one bench as a child process; its stderr goes to ours, line by line, tagged. */
export function runBench(p: Planned, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {
  const name = label(p);
  return new Promise<BenchRun>((done) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(here, `${p.script}.js`), ...p.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let errTail = '';
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      const lines = (partial + c).split('\n');
      partial = lines.pop()!;
      for (const l of lines) log(`[${name}] ${l}`);
      errTail = (errTail + c).slice(-2000);
    });
    let timedOut = false;
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM'); // by its PID: the bench tears its lab down on SIGTERM
      killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    }, p.timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killer);
      if (partial) log(`[${name}] ${partial}`);
      const wallS = (performance.now() - t0) / 1000;
      const json = benchLine(stdout);
      const why = timedOut
        ? `timed out after ${p.timeoutS} s`
        : code !== 0
          ? `exited with ${code ?? signal}: ${lastLine(errTail)}`
          : !json
            ? 'printed no JSON line'
            : undefined;
      done({ label: name, wallS, ...(json && !why ? { json } : {}), ...(why ? { error: why } : {}) });
    });
  });
}

const lastLine = (s: string) =>
  s
    .trim()
    .split('\n')
    .filter((l) => !/^\s*at /.test(l))
    .slice(-2)
    .join(' ')
    .slice(0, 300);

/** Runs the plan, `jobs` at a time, results in plan order. */
export async function runAll(planned: Planned[], jobs = 1, log?: (line: string) => void): Promise<BenchRun[]> {
  const out: BenchRun[] = new Array(planned.length);
  let next = 0;
  const worker = async () => {
    while (next < planned.length) {
      const i = next++;
      const p = planned[i]!;
      (log ?? ((l: string) => process.stderr.write(`${l}\n`)))(`bench: ${label(p)} …`);
      out[i] = await runBench(p, log);
      const r = out[i]!;
      (log ?? ((l: string) => process.stderr.write(`${l}\n`)))(
        `bench: ${label(p)}: ${r.error ? `FAILED (${r.error})` : 'ok'} in ${r.wallS.toFixed(1)} s`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, planned.length)) }, worker));
  return out;
}

const sh = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  } catch {
    return `${cmd}: unknown`;
  }
};

export function machine(): Machine {
  let cpu = cpus()[0]?.model ?? 'unknown CPU';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    /* os.cpus() it is */
  }
  return {
    cpu,
    cpus: cpus().length,
    ramGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: sh('uname', ['-r']),
    node: process.version,
    nft: sh('nft', ['--version']),
    iproute2: sh('ip', ['-V']),
  };
}

function argValue(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** What `--results` writes and `--from` reads back. */
export interface Results {
  date: string;
  machine: Machine;
  command: string;
  wallS: number;
  runs: BenchRun[];
}

async function main() {
  const argv = process.argv.slice(2);
  const tiny = argv.includes('--tiny');
  const from = argValue(argv, '--from');
  const out = argValue(argv, '--out') ?? (tiny ? undefined : REPORT);
  let res: Results;
  if (from) res = JSON.parse(readFileSync(from, 'utf8')) as Results;
  else {
    const jobs = tiny ? Number(argValue(argv, '--jobs') ?? 1) : 1;
    const only = argValue(argv, '--only')?.split(',');
    const planned = plan(tiny).filter((p) => !only || only.includes(p.script));
    const date = new Date().toISOString();
    const t0 = performance.now();
    const runs = await runAll(planned, jobs);
    const wallS = (performance.now() - t0) / 1000;
    // The command as it ran, without where its outputs went.
    const shown = argv.filter(
      (a, i) => !['--out', '--results'].includes(a) && !['--out', '--results'].includes(argv[i - 1]!),
    );
    res = { date, machine: machine(), command: ['node dist/bench/all.js', ...shown].join(' '), wallS, runs };
    const results = argValue(argv, '--results');
    if (results) writeFileSync(results, `${JSON.stringify(res, null, 1)}\n`);
  }
  const report = renderReport(res);
  if (out) {
    writeFileSync(out, report);
    process.stderr.write(`bench: wrote ${out}\n`);
  } else process.stdout.write(report);
  const failed = res.runs.filter((r) => r.error);
  process.stderr.write(
    `bench: ${res.runs.length - failed.length} of ${res.runs.length} benches ran in ${res.wallS.toFixed(0)} s\n`,
  );
  if (failed.length) {
    for (const f of failed) process.stderr.write(`bench: ${f.label}: ${f.error}\n`);
    process.exit(1);
  }
}

if (process.argv[1]?.endsWith('all.js')) await main();
