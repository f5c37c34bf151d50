/**
 * Announcements (pure parts, table-driven): the dyndns2 answers, the URL template, when an
 * updater sends (never an unchanged address, never while disabled, backoff for retries), and
 * the announcer on the fake System (from the uplink's address, once, state kept across restarts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { parseConfigText } from '../../src/config/load.js';
import { EventBus } from '../../src/events/bus.js';
import { Announcer } from '../../src/announce/announcer.js';
import { dyndns2Verdict, dyndnsUrl } from '../../src/announce/dyndns2.js';
import { afterSend, shouldSend, type UpdaterState } from '../../src/announce/state.js';
import { FakeSystem } from '../../src/system/fake.js';

test('dyndns2 answers (table)', () => {
  const cases: [number, string, string, string][] = [
    [200, 'good 192.0.2.1', 'ok', 'good'],
    [200, 'nochg 192.0.2.1\n', 'ok', 'nochg'],
    [200, 'badauth', 'fatal', 'badauth'],
    [200, 'nohost', 'fatal', 'nohost'],
    [200, 'notfqdn', 'fatal', 'notfqdn'],
    [200, 'abuse', 'fatal', 'abuse'],
    [200, '!donator', 'fatal', '!donator'],
    [200, '911', 'retry', '911'],
    [200, 'dnserr', 'retry', 'dnserr'],
    [401, '', 'fatal', 'badauth'],
    [500, 'oops', 'retry', 'HTTP 500'],
    [200, 'hello', 'retry', 'unknown'],
    [500, 'good 1.2.3.4', 'retry', 'HTTP 500'],
  ];
  for (const [status, body, kind, result] of cases) {
    const v = dyndns2Verdict(status, body);
    assert.deepEqual([v.kind, v.result], [kind, result], `${status} ${body}`);
  }
  assert.equal(
    dyndnsUrl('https://d.example/u?h={hostname}&ip={address}', '2001:db8::1', 'a.example'),
    'https://d.example/u?h=a.example&ip=2001%3Adb8%3A%3A1',
  );
});

test('when an updater sends, and what a result does to it', () => {
  const retry = { backoff: 1000, max_backoff: 4000 };
  let s: UpdaterState = { key: 'k', failures: 0 };
  assert.ok(!shouldSend(s, undefined, 0), 'no address, nothing to send');
  assert.ok(shouldSend(s, '192.0.2.1', 0));
  s = afterSend(s, '192.0.2.1', { kind: 'retry', result: '911', message: '' }, 0, retry);
  assert.equal(s.nextAt, 1000);
  assert.ok(!shouldSend(s, '192.0.2.1', 999), 'waits its backoff');
  assert.ok(shouldSend(s, '192.0.2.2', 999), 'a new address goes at once');
  s = afterSend(s, '192.0.2.1', { kind: 'retry', result: '911', message: '' }, 1000, retry);
  s = afterSend(s, '192.0.2.1', { kind: 'retry', result: '911', message: '' }, 3000, retry);
  s = afterSend(s, '192.0.2.1', { kind: 'retry', result: '911', message: '' }, 7000, retry);
  assert.equal(s.nextAt! - 7000, 4000, 'doubles up to max_backoff');
  s = afterSend(s, '192.0.2.1', { kind: 'ok', result: 'good', message: '' }, 8000, retry);
  assert.deepEqual([s.announced, s.failures, s.nextAt], ['192.0.2.1', 0, undefined]);
  assert.ok(!shouldSend(s, '192.0.2.1', 9000), 'never the unchanged address again');
  s = afterSend(s, '192.0.2.3', { kind: 'fatal', result: 'badauth', message: 'refused' }, 9000, retry);
  assert.ok(!shouldSend(s, '192.0.2.4', 99_000), 'disabled: not even a new address');
});

const YAML = `control: { state_dir: /fake/state, socket: /fake/uplinkd.sock }
uplinks: { dsl: { interface: ppp0 } }
announce:
  - { uplink: dsl, dyndns: { url: "https://d.example/u?ip={address}" }, command: "/bin/tell" }
`;

test('the announcer sends from the uplink address, once, and remembers it across a restart', async () => {
  const system = new FakeSystem();
  const cfg = parseConfigText(YAML, 'c.yaml');
  let address = '198.51.100.7';
  const make = () =>
    new Announcer({
      config: () => cfg,
      system,
      bus: new EventBus(),
      log: pino({ level: 'silent' }),
      secrets: () => new Map(),
      uplink: () => ({ iface: 'ppp0', ready: true, address }),
      stateFile: () => '/fake/state/announce.json',
    });
  const a = make();
  await a.start();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(system.http.length, 1);
  assert.equal(system.http[0]!.localAddress, '198.51.100.7');
  assert.equal(system.http[0]!.url, 'https://d.example/u?ip=198.51.100.7');
  const cmd = system.processes.at(-1)!;
  assert.equal((cmd.o as { env: Record<string, string> }).env.ADDRESS, '198.51.100.7');
  cmd.exit(0);
  await new Promise((r) => setTimeout(r, 20));
  a.check();
  assert.equal(system.http.length, 1, 'not twice');
  await a.stop();
  const b = make();
  await b.start();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(system.http.length, 1, 'a restarted daemon does not resend');
  address = '198.51.100.9';
  b.check();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(system.http.length, 2);
  assert.deepEqual(
    b.view().map((v) => `${v.updater} ${v.announced}`),
    ['dyndns 198.51.100.9', 'command 198.51.100.7'],
  );
  await b.stop();
});

const DYN = `control: { state_dir: /fake/state, socket: /fake/uplinkd.sock }
secrets: /fake/secrets.yaml
uplinks: { dsl: { interface: ppp0 } }
announce:
  - { uplink: dsl, dyndns: { url: "https://d.example/u?ip={address}", username: u, password_secret: dyn } }
`;

test('the announcer: a reload mid-send keeps the result; no spinning retry timer; a fixed secret re-enables', async () => {
  const system = new FakeSystem();
  let cfg = parseConfigText(DYN, 'c.yaml');
  let secrets = new Map([['dyn', 'old-password']]);
  let answer = (): { status: number; body: string } => ({ status: 200, body: 'good' });
  let release: () => void = () => undefined;
  system.httpAnswer = () =>
    new Promise((r) => {
      release = () => r(answer());
    });
  const checks = { n: 0 };
  const a = new Announcer({
    config: () => cfg,
    system,
    bus: new EventBus(),
    log: pino({ level: 'silent' }),
    secrets: () => secrets,
    uplink: () => (checks.n++, { iface: 'ppp0', ready: true, address: '198.51.100.7' }),
    stateFile: () => '/fake/state/announce.json',
  });
  await a.start();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(system.http.length, 1);
  // The same config again while the answer is on its way: the answer still counts.
  cfg = parseConfigText(DYN, 'c.yaml');
  a.sync();
  answer = () => ({ status: 200, body: 'badauth' });
  release();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(a.view()[0]!.disabled?.result, 'badauth', 'the answer counted after the reload');
  // Disabled, with nothing due: no timer wakes the announcer.
  checks.n = 0;
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(checks.n <= 1, `${checks.n} checks in 100 ms`);
  // The password fixed in the secrets file, then a reload: the updater starts afresh.
  secrets = new Map([['dyn', 'new-password']]);
  answer = () => ({ status: 200, body: 'good' });
  a.sync();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(system.http.length, 2, 'sent again with the new password');
  release();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(a.view()[0]!.announced, '198.51.100.7');
  assert.equal(a.view()[0]!.disabled, undefined);
  await a.stop();
});
