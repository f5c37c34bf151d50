/**
 * Notifications by mail to an SMTP sink (smtp-server in the gateway namespace): a re-dial and a
 * give-up each send a mail that says which uplink, what happened, since when and what uplinkd
 * does next; a link flapping 100 times sends a handful of mails (the rest in a digest).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labForTest, waitFor, type Ns, type NsProcess } from '../../src/lab/harness.js';
import { startDaemon, startSink, type RunningDaemon } from '../../src/lab/daemon.js';
import { demandTopology, DSL_GW, DSL_ISP, modemUp, type DemandTopology } from '../../src/lab/demand.js';
import { SERVER } from '../../src/lab/topology.js';
import type { Status } from '../../src/control/status.js';

const SMTP_PORT = 2525;

interface Mail {
  from: string;
  to: string[];
  subject: string;
  text: string;
}

async function smtpSink(ns: Ns): Promise<{ proc: NsProcess; mails: () => Mail[] }> {
  const { proc, got } = await startSink<Mail>(ns, ['smtp', '127.0.0.1', String(SMTP_PORT)], 'mail');
  return { proc, mails: got };
}

/** A dial that brings the link up and, when its shell is killed, takes the link down with it. */
function dyingConnect(t: DemandTopology): string {
  return [
    'sleep 0.3',
    `ip link add wan0 type veth peer name down netns ${t.isp.name}`,
    `ip -n ${t.isp.name} addr add ${DSL_ISP}/30 dev down`,
    ...modemUp({ ispNs: t.isp.name, ispDev: 'down', dev: 'wan0', address: `${DSL_GW}/30` }),
    "trap 'ip link del wan0 2>/dev/null; exit 1' TERM",
    'sleep 100000 & wait',
  ].join('; ');
}

function config(connect: string, redial: string, notify = ''): string {
  return `uplinks:
  dsl:
    interface: wan0
    mode: always
    gateway: ${DSL_ISP}
    connect: ${JSON.stringify(connect)}
    probe: { profile: fast, targets: [${SERVER}] }
    redial: ${redial}
lan:
  - { interface: lan0, zone: lan }
notify:
  - events: [redial, gave_up]
    mail: { to: admin@example.org, from: gw@example.org, smtp: { host: 127.0.0.1, port: ${SMTP_PORT}, tls: none } }
${notify}`;
}

const dsl = async (d: RunningDaemon) =>
  (await d.status()).uplinks.find((u) => u.name === 'dsl')! as Status['uplinks'][number];

test('notify: a re-dial sends a mail that says which uplink, what happened, since when, what next', async (t) => {
  const lab = await labForTest(t);
  const topo = await demandTopology(lab);
  const sink = await smtpSink(topo.gw);
  const d = await startDaemon(lab, topo.gw, config(dyingConnect(topo), '{ holdoff: 0s, backoff: 1s }'));
  await waitFor(async () => (await dsl(d)).state === 'up', { timeoutMs: 20_000, what: 'dsl up' });
  assert.equal(sink.mails().length, 0, 'the first dial is no news');
  const pid = (await dsl(d)).dial!.pid!;
  process.kill(pid, 'SIGTERM');
  await waitFor(() => sink.mails().length >= 1, { timeoutMs: 15_000, what: 'a mail about the re-dial' });
  const m = sink.mails()[0]!;
  assert.deepEqual(m.to, ['admin@example.org']);
  assert.match(m.subject, /dsl lost its connection; re-dialing \(attempt 1\)/);
  assert.match(m.text, /What happened: connect process exited with 1/);
  assert.match(m.text, /Since: \d{4}-\d\d-\d\dT/);
  assert.match(m.text, /Uplink: dsl \(interface wan0, mode always\)/);
  assert.match(m.text, /What uplinkd does next: dialing dsl again now/);
  await waitFor(async () => (await dsl(d)).state === 'up', { timeoutMs: 20_000, what: 'dsl up again' });
});

test('notify: a give-up sends a mail saying what it gave up on and how to dial again', async (t) => {
  const lab = await labForTest(t);
  const topo = await demandTopology(lab);
  const sink = await smtpSink(topo.gw);
  const d = await startDaemon(lab, topo.gw, config('exit 3', '{ retries: 1, holdoff: 0s, backoff: 100ms }'));
  await waitFor(() => sink.mails().some((m) => /gave up/.test(m.subject)), {
    timeoutMs: 20_000,
    what: 'a give-up mail',
  });
  const m = sink.mails().find((x) => /gave up/.test(x.subject))!;
  assert.match(m.subject, /\[uplinkd .*\] dsl gave up/);
  assert.match(m.text, /What happened: gave up after 2 failed dial\(s\); last: connect process exited with 3/);
  assert.match(m.text, /no more dials of dsl until `uplink unblock dsl`/);
  assert.match(m.text, /NO uplink is usable/);
  assert.equal((await dsl(d)).state, 'blocked');
});

test('notify: 100 flaps send a handful of mails, the rest summed up in a digest', async (t) => {
  const lab = await labForTest(t);
  const topo = await demandTopology(lab);
  const sink = await smtpSink(topo.gw);
  const d = await startDaemon(
    lab,
    topo.gw,
    config('sleep 0.05; exit 1', '{ holdoff: 0s, backoff: 50ms, max_backoff: 100ms }').replace(
      'tls: none } }',
      'tls: none } }\n    limit: { burst: 3, window: 20s }',
    ),
  );
  await waitFor(async () => ((await dsl(d)).dial?.attempts ?? 0) >= 100, {
    timeoutMs: 60_000,
    intervalMs: 200,
    what: '100 failed dials',
  });
  assert.equal(sink.mails().length, 1, 'one mail for the re-dials so far: the rest are held');
  await waitFor(() => sink.mails().some((m) => /digest/.test(m.subject)), { timeoutMs: 30_000, what: 'the digest' });
  const dg = sink.mails().find((m) => /digest/.test(m.subject))!;
  const held = Number(/digest: (\d+) more/.exec(dg.subject)?.[1]);
  assert.ok(held >= 50, `the digest sums up the held re-dials (${dg.subject})`);
  assert.match(dg.text, /x dsl lost its connection/);
  assert.ok(
    sink.mails().length <= 4,
    `a handful of mails: ${sink
      .mails()
      .map((m) => m.subject)
      .join(' | ')}`,
  );
});
