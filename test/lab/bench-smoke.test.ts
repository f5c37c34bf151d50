/**
 * Every bench still runs: `node dist/bench/all.js --tiny` runs each at a tiny size (three at a
 * time, to keep CI short: the numbers mean nothing here, only that each bench gets through)
 * and must exit 0; every bench of the plan must have printed its JSON line, every row the
 * report builds from it must find its number (a renamed key reads "n/a"), and the report must
 * have a row per measure. Goals missed are fine here: that is the full run's business.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { plan, type Results } from '../../bench/all.js';
import { rowsOf } from '../../bench/report.js';

const ALL = resolve(dirname(fileURLToPath(import.meta.url)), '../../bench/all.js');

test('bench smoke: every bench at a tiny size prints its JSON line, the report has a row per measure', {
  timeout: 170_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'uplinkd-bench-smoke-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'REPORT.md');
  const results = join(dir, 'runs.json');
  const r = await new Promise<{ code: number; stderr: string }>((done) => {
    execFile(
      process.execPath,
      [ALL, '--tiny', '--jobs', '3', '--out', out, '--results', results],
      { timeout: 165_000, maxBuffer: 64 << 20 },
      (e, _stdout, stderr) => done({ code: e ? Number((e as { code?: number }).code ?? -1) : 0, stderr }),
    );
  });
  assert.equal(r.code, 0, `all.js --tiny failed:\n${r.stderr.slice(-4000)}`);

  const { runs } = JSON.parse(readFileSync(results, 'utf8')) as Results;
  const planned = plan(true).map((p) => [p.script, ...p.args].join(' '));
  assert.deepEqual(
    runs.map((x) => x.label),
    planned,
    'every bench of the plan ran',
  );
  for (const run of runs) {
    assert.equal(run.error, undefined, `${run.label}: ${run.error}`);
    assert.ok(run.json, `${run.label}: its JSON line`);
    const rows = rowsOf(run);
    assert.ok(rows.length > 0, `${run.label}: rows`);
    for (const row of rows) assert.notEqual(row.ours, 'n/a', `${run.label}: ${row.measure} has no number`);
  }

  const md = readFileSync(out, 'utf8');
  const table = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| measure'));
  const measures = runs.flatMap(rowsOf).map((row) => row.measure);
  assert.equal(table.length, measures.length, 'a row per measure');
  for (const m of measures) assert.ok(md.includes(m.replace(/\|/g, '\\|')), `row for ${m}`);
  assert.doesNotMatch(md, /Benches that failed/);
});
