/**
 * Journald-friendly logs: under systemd (JOURNAL_STREAM names our stderr) each JSON line gets
 * the `<N>` priority prefix journald turns into PRIORITY, so `journalctl -p warning` filters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { journalLine } from '../../src/daemon/log.js';
import { stderrIsJournal } from '../../src/system/journal.js';

const LOG = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/daemon/log.js');

test('journal priority prefix for each pino level', () => {
  for (const [level, prio] of [
    [60, 2],
    [50, 3],
    [40, 4],
    [30, 6],
    [20, 7],
    [10, 7],
  ] as const) {
    const line = `{"level":${level},"time":1,"msg":"x"}\n`;
    assert.equal(journalLine(line), `<${prio}>${line}`, `level ${level}`);
  }
});

test('JOURNAL_STREAM counts only when it names this very stream', () => {
  const f = join(mkdtempSync(join(tmpdir(), 'uplinkd-journal-')), 'stream');
  const fd = openSync(f, 'w');
  try {
    const st = fstatSync(fd);
    assert.equal(stderrIsJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino}` }, fd), true);
    assert.equal(stderrIsJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino + 1}` }, fd), false, 'another stream');
    assert.equal(stderrIsJournal({}, fd), false, 'not set');
    assert.equal(stderrIsJournal({ JOURNAL_STREAM: 'junk' }, fd), false);
  } finally {
    closeSync(fd);
  }
});

test('a daemon logger writing into the journal prefixes its lines; elsewhere it does not', () => {
  const script = `import(${JSON.stringify(pathToFileURL(LOG).href)}).then(({ createLogger }) => {
    const l = createLogger('json', 'info', undefined, process.argv[1] === 'journal');
    l.warn('careful');
    l.info('fine');
  });`;
  const stderr = (mode: string) =>
    spawnSync(process.execPath, ['-e', script, mode], { encoding: 'utf8' }).stderr.trim().split('\n');
  const [warn, info] = stderr('journal');
  assert.match(warn!, /^<4>\{"level":40,.*"msg":"careful"/);
  assert.match(info!, /^<6>\{"level":30,.*"msg":"fine"/);
  assert.match(stderr('plain')[0]!, /^\{"level":40,/);
});
