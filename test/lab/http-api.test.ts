/**
 * The HTTP API of a running daemon in the lab, reached through the host-side bridge (a loopback
 * peer, as through `ssh -L`): token rules (401 without, 403 wrong, before any other 4xx), the
 * method table's actions, SSE with `retry:` at once and Last-Event-ID resume, size limits,
 * the Host check, /metrics parsed and following a failover, and 1,000 half-open connections.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import parsePrometheus from 'parse-prometheus-text-format';
import { labForTest, waitFor } from '../../src/lab/harness.js';
import { startDaemon } from '../../src/lab/daemon.js';
import { httpBridge } from '../../src/lab/http-bridge.js';
import { httpCall, sseOpen } from '../../src/lab/http-client.js';
import { GW_LAN, twoUplinkTopology } from '../../src/lab/topology.js';
import { twoUplinkConfig } from './uplinks-lab.js';

const HALF_OPEN = `
const net = require('node:net');
const socks = [];
let open = 0;
for (let i = 0; i < 1000; i++) {
  const s = net.connect(8377, '127.0.0.1', () => { open++; s.write('GET /api/status HTTP/1.1\\r\\nHost: 127.0.0.1'); });
  s.on('error', () => undefined);
  socks.push(s);
}
setInterval(() => console.log('open ' + open), 200);
`;

function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const fam = parsePrometheus(text).find((f) => f.name === name);
  const m = fam?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}

test('http api: tokens, actions, SSE resume, limits, metrics, half-open connections', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'both' });
  const d = await startDaemon(lab, topo.gw, twoUplinkConfig());
  await waitFor(async () => (await d.status()).selection.selected === 'wan1', { timeoutMs: 15000, what: 'wan1' });
  const api = await httpBridge(lab, topo.gw);
  const tokenPath = join(dirname(d.configFile), 'state', 'api-token');
  assert.equal(statSync(tokenPath).mode & 0o777, 0o600, 'token file 0600');
  const token = readFileSync(tokenPath, 'utf8').trim();
  const auth = { authorization: `Bearer ${token}` };

  // Reads from loopback need no token; every answer has the CSP.
  const st = await httpCall(`${api.url}/api/status`);
  assert.equal(st.status, 200);
  assert.equal(st.headers['content-security-policy'], "default-src 'self'");
  assert.equal(st.json<{ result: { selection: { selected: string } } }>().result.selection.selected, 'wan1');
  assert.equal((await httpCall(`${api.url}/`)).status, 200, 'the dashboard page');

  // Loopback by default: the LAN cannot even connect.
  const lan = await topo.lan.exec(
    [
      process.execPath,
      '-e',
      `require('net').connect(8377,'${GW_LAN}').on('connect',()=>process.exit(0)).on('error',()=>process.exit(3))`,
    ],
    { check: false },
  );
  assert.equal(lan.code, 3, 'not reachable from the LAN');

  // 401 without a token, 403 with a wrong one, both before a 404 or a 413.
  const block = `${api.url}/api/uplinks/wan1/block`;
  assert.equal((await httpCall(block, { method: 'POST' })).status, 401);
  assert.equal((await httpCall(`${api.url}/api/uplinks/nope/block`, { method: 'POST' })).status, 401);
  assert.equal((await httpCall(block, { method: 'POST', headers: { authorization: 'Bearer wrong' } })).status, 403);
  const big = 'x'.repeat(200 * 1024);
  assert.equal((await httpCall(block, { method: 'POST', body: big })).status, 401, '401 before 413');
  assert.equal((await httpCall(block, { method: 'POST', headers: auth, body: big })).status, 413);
  const huge = await httpCall(`${api.url}/api/status`, { headers: { 'x-pad': 'y'.repeat(64 * 1024) } });
  assert.equal(huge.status, 431, 'oversized headers refused');
  assert.equal((await httpCall(`${api.url}/api/status`, { headers: { host: 'evil.example:8377' } })).status, 421);
  assert.equal((await httpCall(`${api.url}/api/uplinks/nope/block`, { method: 'POST', headers: auth })).status, 404);

  // SSE: headers and retry at once; events carry ids.
  const s1 = await sseOpen(`${api.url}/api/events`);
  assert.equal(s1.status, 200);
  assert.match(String(s1.headers['content-type']), /text\/event-stream/);
  await waitFor(async () => s1.events.some((e) => e.retry !== undefined), { timeoutMs: 2000, what: 'retry:' });

  const r = await httpCall(block, { method: 'POST', headers: auth });
  assert.equal(r.status, 200, r.body);
  assert.equal((await d.status()).selection.selected, 'wan2', 'the daemon obeyed');
  await waitFor(async () => s1.events.some((e) => e.data?.includes('"blocked"')), { what: 'block event on SSE' });
  const lastId = s1.events.filter((e) => e.id).at(-1)!.id!;
  s1.close();

  // Missed while disconnected: the unblock. A resume gets it, and nothing from before.
  assert.equal((await httpCall(`${api.url}/api/uplinks/wan1/unblock`, { method: 'POST', headers: auth })).status, 200);
  const s2 = await sseOpen(`${api.url}/api/events`, { 'last-event-id': lastId });
  await waitFor(
    async () =>
      s2.events.some((e) => /"type":"uplink".*"name":"wan1"|"name":"wan1".*"type":"uplink"/.test(e.data ?? '')),
    { what: 'missed events replayed' },
  );
  const seqOf = (id: string) => Number(id.split('-').at(-1));
  for (const e of s2.events.filter((x) => x.id)) assert.ok(seqOf(e.id!) > seqOf(lastId), `only after ${lastId}`);
  s2.close();
  await waitFor(async () => (await d.status()).selection.selected === 'wan1', {
    timeoutMs: 20000,
    what: 'back on wan1',
  });

  // `uplink dashboard`: a one-time link sets a SameSite=Strict session; POSTs need our Origin.
  const link = (await d.cli(['dashboard'])).stdout.split('\n')[0]!;
  const code = new URL(link).search;
  assert.match(code, /^\?code=/);
  const login = await httpCall(`${api.url}/login${code}`);
  assert.equal(login.status, 303);
  const cookie = String(login.headers['set-cookie']);
  assert.match(cookie, /SameSite=Strict/);
  assert.match(cookie, /HttpOnly/);
  assert.notEqual((await httpCall(`${api.url}/login${code}`)).status, 303, 'a code works once');
  const session = { cookie: cookie.split(';')[0]! };
  const unforce = `${api.url}/api/unforce`;
  assert.equal((await httpCall(unforce, { method: 'POST', headers: session })).status, 403, 'cookie without Origin');
  const foreign = { ...session, origin: 'http://evil.example' };
  assert.equal((await httpCall(unforce, { method: 'POST', headers: foreign })).status, 403, 'foreign Origin');
  const ours = { ...session, origin: api.url };
  assert.equal((await httpCall(unforce, { method: 'POST', headers: ours })).status, 200, 'matching Origin');

  // /metrics parses, and follows a silent failover.
  const m1 = (await httpCall(`${api.url}/metrics`)).body;
  assert.equal(metric(m1, 'uplinkd_uplink_selected', { uplink: 'wan1' }), 1);
  assert.equal(metric(m1, 'uplinkd_uplink_state', { uplink: 'wan1', state: 'up' }), 1);
  const lost0 = metric(m1, 'uplinkd_probes_lost_total', { uplink: 'wan1' }) ?? 0;
  assert.ok((metric(m1, 'uplinkd_probes_sent_total', { uplink: 'wan1' }) ?? 0) > 0);
  await topo.blackhole('isp1');
  await waitFor(async () => (await d.status()).selection.selected === 'wan2', { timeoutMs: 10000, what: 'failover' });
  const m2 = (await httpCall(`${api.url}/metrics`)).body;
  assert.equal(metric(m2, 'uplinkd_uplink_selected', { uplink: 'wan2' }), 1);
  assert.equal(metric(m2, 'uplinkd_uplink_selected', { uplink: 'wan1' }), 0);
  assert.ok((metric(m2, 'uplinkd_probes_lost_total', { uplink: 'wan1' }) ?? 0) > lost0, 'lost probes counted');
  assert.ok((metric(m2, 'uplinkd_failovers_total') ?? 0) >= 1, 'failover counted');
  assert.ok((metric(m2, 'uplinkd_process_resident_memory_bytes') ?? 0) > 0, 'process metrics');

  // An edit not yet reloaded shows in status (API and CLI) until `uplink reload`.
  appendFileSync(d.configFile, '# edited by the admin\n');
  type Daemon = { result: { daemon: { configDiffers?: string } } };
  const differs = async () => (await httpCall(`${api.url}/api/status`)).json<Daemon>().result.daemon.configDiffers;
  await waitFor(async () => /not reloaded/.test((await differs()) ?? ''), { what: 'the edit noticed' });
  assert.match((await d.cli(['status'])).stdout, /CONFIG DIFFERS: .*not reloaded/);
  assert.equal((await d.cli(['reload'])).code, 0);
  assert.equal(await differs(), undefined, 'reloaded: the file is what runs');

  // 1,000 half-open connections: the API and the control socket still answer.
  const flood = topo.gw.spawn(process.execPath, ['-e', HALF_OPEN]);
  await waitFor(async () => flood.lines().some((l) => /open (9\d\d|1000)/.test(l)), {
    timeoutMs: 10000,
    what: 'flood open',
  });
  const during = await httpCall(`${api.url}/api/status`);
  assert.equal(during.status, 200, 'API answers under the flood');
  assert.ok((await d.cli(['status'])).code === 0, 'control socket answers under the flood');
  flood.kill();
  assert.equal((await httpCall(`${api.url}/api/status`)).status, 200);
});
