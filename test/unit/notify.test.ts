/**
 * Notifications: which events become notices and what they say (table), the limiter (100 flaps
 * in a minute make a handful of sends and one digest), and the notifier on the fake System:
 * bounded retries, a failure is an event and never a throw, secrets reach the channel only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { parseConfigText } from '../../src/config/load.js';
import { EventBus, type DaemonEvent, type EventInput } from '../../src/events/bus.js';
import { digest, Limiter } from '../../src/notify/limiter.js';
import { Notifier } from '../../src/notify/notifier.js';
import { noticeFor, wants, type NoticeContext } from '../../src/notify/notices.js';
import { FakeSystem } from '../../src/system/fake.js';
import { Redactor } from '../../src/model/redact.js';

const time = '2026-12-02T10:00:00.000Z';
const ev = (e: EventInput) => ({ ...e, time }) as DaemonEvent;
const ctx = (usable: string[] = ['fiber', 'lte'], selected = 'lte'): NoticeContext => ({
  host: 'gw1',
  uplink: (n) => ({
    iface: `${n}0`,
    mode: 'always',
    state: usable.includes(n) ? 'up' : 'failed',
    since: time,
    priority: n === 'fiber' ? 10 : 20,
  }),
  usable: (n) => usable.includes(n),
  selected: () => selected || undefined,
});

test('notices: which events, and what they say (table)', () => {
  const cases: [string, EventInput, NoticeContext, string | undefined, RegExp[]][] = [
    [
      're-dial',
      {
        type: 'uplink',
        name: 'dsl',
        event: 'dial',
        state: 'failed',
        reason: 'x',
        redial: { attempt: 2, lost: 'connect process exited with 1', at: time },
      },
      ctx(),
      'redial',
      [
        /dsl lost its connection; re-dialing \(attempt 2\)/,
        /What happened: connect process exited with 1/,
        /meanwhile traffic goes through lte/,
      ],
    ],
    [
      'a first dial is no news',
      { type: 'uplink', name: 'dsl', event: 'dial', state: 'down', reason: 'dial attempt 1' },
      ctx(),
      undefined,
      [],
    ],
    [
      'give-up',
      { type: 'uplink', name: 'dsl', event: 'blocked', state: 'blocked', reason: 'gave up after 5 failed dial(s)' },
      ctx([], ''),
      'gave_up',
      [/dsl gave up/, /uplink unblock dsl/, /NO uplink is usable/],
    ],
    [
      'failover',
      { type: 'selection', prev: 'fiber', selected: 'lte', reason: 'fiber failed' },
      ctx(['lte']),
      'failover',
      [/failover from fiber to lte/, /keeps probing fiber/],
    ],
    [
      'failback',
      { type: 'selection', prev: 'lte', selected: 'fiber', reason: 'fiber is back' },
      ctx(['fiber', 'lte'], 'fiber'),
      'failback',
      [/failback from lte to fiber/],
    ],
    [
      'a forced move is neither',
      { type: 'selection', prev: 'fiber', selected: 'lte', reason: 'forced' },
      ctx(),
      undefined,
      [],
    ],
    [
      'job failed',
      { type: 'job', name: 'vpn', event: 'failed', message: 'exited 1 five times' },
      ctx(),
      'job_failed',
      [/job vpn failed/],
    ],
    ['job start is no news', { type: 'job', name: 'vpn', event: 'start', message: 'pid 3' }, ctx(), undefined, []],
    [
      'rollback',
      { type: 'apply', action: 'rollback', file: 'new.yaml', message: 'deadline passed' },
      ctx(),
      'rollback',
      [/config rolled back \(new.yaml\)/],
    ],
    [
      'announce failed',
      {
        type: 'announce',
        uplink: 'dsl',
        updater: 'dyndns',
        address: '192.0.2.9',
        ok: false,
        result: 'badauth',
        disabled: true,
        message: 'refused',
      },
      ctx(),
      'announce_failed',
      [/by dyndns failed \(badauth\)/, /disabled until the config changes/],
    ],
  ];
  for (const [name, e, c, want, texts] of cases) {
    const n = noticeFor(ev(e), c);
    assert.equal(n?.event, want, name);
    for (const re of texts) assert.match(`${n?.subject}\n${n?.text}`, re, name);
    if (n) assert.match(n.subject, /^\[uplinkd gw1\] /, name);
  }
});

test('routing: * takes all, blocked is gave_up', () => {
  const n = noticeFor(ev({ type: 'uplink', name: 'd', event: 'blocked', state: 'blocked', reason: 'r' }), ctx())!;
  assert.ok(wants(['*'], n));
  assert.ok(wants(['blocked'], n));
  assert.ok(wants(['gave_up'], n));
  assert.ok(!wants(['redial', 'failover'], n));
});

test('limiter: 100 flaps in a minute are a handful of sends and one digest', () => {
  const l = new Limiter({ burst: 3, window: 600_000 });
  const kinds = ['redial dsl', 'failover dsl', 'failback dsl'];
  let sent = 0;
  for (let i = 0; i < 100; i++) {
    const key = kinds[i % 3]!;
    const n = { event: 'redial' as const, key, subject: `[uplinkd h] ${key}`, text: key, time };
    if (l.admit(n, i * 600) === 'send') sent++;
  }
  assert.equal(sent, 3, 'each kind once');
  const held = l.takeDigest(600_000);
  assert.equal(
    held.reduce((a, h) => a + h.count, 0),
    97,
  );
  const d = digest(held, 'h', 600_000);
  assert.match(d.subject, /digest: 97 more notifications in 10 min/);
  assert.match(d.text, /33x redial dsl/);
  // A fresh window after the digest.
  assert.equal(l.admit({ event: 'redial', key: 'redial dsl', subject: 's', text: 't', time }, 600_001), 'send');
});

test('limiter: distinct notices past the burst wait for the digest; a repeat never goes twice in a window', () => {
  const l = new Limiter({ burst: 2, window: 1000 });
  const n = (key: string) => ({ event: 'redial' as const, key, subject: key, text: key, time });
  assert.deepEqual(
    ['a', 'a', 'b', 'c', 'a'].map((k) => l.admit(n(k), 0)),
    ['send', 'held', 'send', 'held', 'held'],
  );
  assert.equal(l.windowEnds, 1000);
});

function notifier(system: FakeSystem, yaml: string, bus = new EventBus(), retryMs = [5, 5]) {
  const cfg = parseConfigText(yaml, 'c.yaml');
  const secrets = new Map([['hook_token', 'tok-3141592653']]);
  const n = new Notifier({
    config: () => cfg,
    system,
    bus,
    log: pino({ level: 'silent' }),
    secrets: () => secrets,
    context: () => ({ uplink: () => undefined, usable: () => false, selected: () => undefined }),
    retryMs,
  });
  return { n, bus };
}

const GAVE_UP: EventInput = { type: 'uplink', name: 'dsl', event: 'blocked', state: 'blocked', reason: 'gave up' };

test('notifier: an undeliverable mail is retried a bounded number of times, then an event; nothing throws', async () => {
  const system = new FakeSystem();
  system.mailAnswer = () => {
    throw new Error('connection refused');
  };
  const { n, bus } = notifier(
    system,
    'notify:\n  - { events: [gave_up], mail: { to: a@example.org, smtp: { host: 127.0.0.1 } } }\n',
  );
  await n.start();
  bus.publish(GAVE_UP);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(system.mails.length, 3, 'three tries');
  const fail = bus.history().find((e) => e.type === 'notify');
  assert.ok(fail && !fail.ok);
  assert.match(fail.message, /not delivered after 3 tries: .*connection refused/);
  assert.equal(n.view().failed, 1);
  await n.stop();
});

test('notifier: a webhook gets JSON with the bearer token from the secrets file; an error echoing it is blanked', async () => {
  const system = new FakeSystem();
  system.httpAnswer = () => {
    throw new Error('401 for Bearer tok-3141592653');
  };
  const redactor = new Redactor();
  redactor.set(['tok-3141592653']);
  const bus = new EventBus(undefined, undefined, redactor);
  const { n } = notifier(
    system,
    'secrets: /etc/uplinkd/secrets.yaml\nnotify:\n  - { events: ["*"], webhook: { url: "https://hooks.example.net/x", token_secret: hook_token } }\n',
    bus,
    [],
  );
  await n.start();
  bus.publish(GAVE_UP);
  await new Promise((r) => setTimeout(r, 50));
  const r = system.http[0]!;
  assert.equal(r.method, 'POST');
  assert.equal(r.headers?.authorization, 'Bearer tok-3141592653');
  assert.equal((JSON.parse(r.body!) as { event: string }).event, 'gave_up');
  const text = JSON.stringify(bus.history());
  assert.match(text, /401 for Bearer \*\*\*/, 'the echoed token is blanked');
  assert.doesNotMatch(text, /3141592653/);
  await n.stop();
});
