/**
 * The dashboard in a real browser: playwright-core drives Debian's chromium (headless) at a lab
 * daemon's dashboard through the host-side bridge. Both uplinks show; blackholing the primary
 * changes its card and the timeline over SSE without a reload; "block" is refused without a
 * login and obeyed with one (a one-time code, spent once). The page must log no error and
 * violate no part of its own CSP. Screenshots go to test-artifacts/dashboard/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { rpc } from '../../src/control/client.js';
import { labForTest, waitFor } from '../../src/lab/harness.js';
import { startDaemon } from '../../src/lab/daemon.js';
import { httpBridge } from '../../src/lab/http-bridge.js';
import { httpCall } from '../../src/lab/http-client.js';
import { twoUplinkTopology } from '../../src/lab/topology.js';
import { twoUplinkConfig } from './uplinks-lab.js';

const CHROMIUM = '/usr/bin/chromium';
/** The package root's test-artifacts/, from dist/test/lab/. */
const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test-artifacts/dashboard');
const DOWN_STATES = ['failed', 'down'];

/** What the page said that it should not have: console errors, uncaught exceptions, CSP reports. */
interface Complaint {
  phase: string;
  kind: 'console' | 'pageerror' | 'csp';
  text: string;
  url?: string;
}

const cardState = (page: Page, name: string) => page.getAttribute(`#uplink-${name}`, 'data-state');
const isSelected = async (page: Page, name: string) => (await page.locator(`#uplink-${name} .selected`).count()) > 0;

test('dashboard in chromium: live failover, block refused without a login and obeyed with one', async (t) => {
  if (!existsSync(CHROMIUM)) {
    // CI must run it: there the missing browser is a failure (setup.sh --test installs it).
    assert.notEqual(process.env.CI, 'true', `${CHROMIUM} is missing in CI: run \`bash scripts/setup.sh --test\``);
    t.skip(`${CHROMIUM} is missing: \`bash scripts/setup.sh --test\` installs Debian's chromium`);
    return;
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-proxy-server',
    ],
  });
  t.after(() => browser.close());

  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'both' });
  const d = await startDaemon(lab, topo.gw, twoUplinkConfig());
  await waitFor(async () => (await d.status()).selection.selected === 'wan1', { timeoutMs: 15000, what: 'wan1' });
  const api = await httpBridge(lab, topo.gw);
  const uplink = async (name: string) => (await d.status()).uplinks.find((u) => u.name === name)!;

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  let phase = 'open';
  const complaints: Complaint[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') complaints.push({ phase, kind: 'console', text: m.text(), url: m.location().url });
  });
  page.on('pageerror', (e) => complaints.push({ phase, kind: 'pageerror', text: String(e) }));
  // Every document of the page reports its CSP violations here (console errors say so too).
  await page.exposeFunction('__cspViolation', (text: string) => complaints.push({ phase, kind: 'csp', text }));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const report = (window as unknown as { __cspViolation(s: string): void }).__cspViolation;
      report(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  let loads = 0;
  page.on('load', () => loads++);
  const shot = async (name: string) => {
    const path = join(ARTIFACTS, name);
    await page.screenshot({ path, fullPage: true });
    t.diagnostic(`screenshot: ${path}`);
  };
  const waitLive = () => page.waitForFunction(() => document.getElementById('conn')?.textContent === 'live');

  // 1. Both uplinks, wan1 up and selected, the event stream live.
  await page.goto(api.url);
  await page.waitForSelector('#uplink-wan1');
  await page.waitForSelector('#uplink-wan2');
  await waitLive();
  assert.equal(await cardState(page, 'wan1'), 'up');
  assert.ok(await isSelected(page, 'wan1'), 'wan1 shows selected');
  assert.ok(!(await isSelected(page, 'wan2')), 'wan2 is not selected');
  assert.match((await page.textContent('#uplink-wan1 .state')) ?? '', /^up$/);
  await shot('01-both-uplinks.png');

  // 2. Blackhole the primary: its card fails, wan2 is selected and the timeline tells it, live.
  phase = 'failover';
  await page.evaluate(() => {
    (window as unknown as { __marker: number }).__marker = 1;
  });
  const loadsBefore = loads;
  const selectionsBefore = await page.locator('#timeline li[data-type="selection"]').count();
  await topo.blackhole('isp1');
  await page.waitForFunction(
    ({ down, before }) => {
      const wan1 = document.getElementById('uplink-wan1');
      const wan2 = document.getElementById('uplink-wan2');
      const selections = [...document.querySelectorAll('#timeline li[data-type="selection"]')];
      return (
        down.includes(wan1?.dataset.state ?? '') &&
        wan1?.querySelector('.selected') === null &&
        wan2?.querySelector('.selected') !== null &&
        selections.length > before &&
        /selected wan2/.test(selections[0]?.textContent ?? '')
      );
    },
    { down: DOWN_STATES, before: selectionsBefore },
    { timeout: 20000 },
  );
  assert.equal((await d.status()).selection.selected, 'wan2', 'the daemon failed over');
  const wan1Items = await page.locator('#timeline li[data-type="uplink"]').allTextContents();
  assert.ok(
    wan1Items.some((s) => /wan1 .*→ (failed|down)/.test(s)),
    `the timeline shows wan1 going down: ${wan1Items.join(' | ')}`,
  );
  assert.equal(await page.evaluate(() => (window as unknown as { __marker?: number }).__marker), 1, 'no reload');
  assert.equal(loads, loadsBefore, 'no load event since the first');
  // The plots (uPlot, drawn under the page's own CSP) from the daemon's sample ring.
  await page.waitForSelector('#plot-wan1 canvas', { timeout: 15000 });
  await page.waitForSelector('#plot-wan2 canvas', { timeout: 1000 });
  assert.match((await page.textContent('#uplink-wan1')) ?? '', /uptime\s*[\d.]+ %/);
  await shot('02-failover.png');

  // 3. No login: "block" is refused (401 with the hint) and the daemon did nothing.
  phase = 'refused';
  await page.click('#uplink-wan2 button[data-action="block"]');
  await page.waitForFunction(() => /refused \(401\)/.test(document.getElementById('notice')?.textContent ?? ''));
  assert.match((await page.textContent('#notice')) ?? '', /uplink dashboard/, 'the notice says how to log in');
  assert.equal(await page.getAttribute('#notice', 'data-kind'), 'error');
  assert.equal((await uplink('wan2')).adminBlocked, false, 'not blocked without a login');
  assert.notEqual(await cardState(page, 'wan2'), 'blocked');
  await shot('03-block-refused.png');

  // 4. Log in with a one-time link (its origin is the bridge's), then "block" is obeyed.
  phase = 'login';
  const { url: loginUrl } = (await rpc(d.socket, 'login')) as { url: string; expiresInS: number };
  const u = new URL(loginUrl);
  assert.equal(u.pathname, '/login');
  const login = `${api.url}${u.pathname}${u.search}`;
  const landed = await page.goto(login);
  assert.equal(landed?.status(), 200);
  assert.equal(page.url(), `${api.url}/`, 'the login redirects to the dashboard');
  const cookie = (await context.cookies(api.url)).find((c) => c.name === 'uplinkd_session');
  assert.ok(cookie, 'the session cookie is set');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  const again = await httpCall(login);
  assert.ok(again.status >= 400, `a spent code is refused (got ${again.status})`);
  assert.equal(again.headers['set-cookie'], undefined, 'and sets no cookie');

  phase = 'block';
  await page.waitForSelector('#uplink-wan2');
  await waitLive();
  await page.click('#uplink-wan2 button[data-action="block"]');
  await waitFor(async () => (await uplink('wan2')).adminBlocked === true, { timeoutMs: 5000, what: 'wan2 blocked' });
  await page.waitForSelector('#uplink-wan2[data-state="blocked"]', { timeout: 10000 });
  assert.doesNotMatch((await page.textContent('#notice')) ?? '', /refused/);
  assert.match((await page.textContent('#notice')) ?? '', /blocked/);
  assert.equal(await page.getAttribute('#notice', 'data-kind'), 'ok');
  assert.equal((await uplink('wan2')).state, 'blocked');
  await shot('04-blocked.png');

  // Only the refused POST may show up as an error (the browser logs the 401); nothing else.
  const expected = (c: Complaint) =>
    c.kind === 'console' &&
    c.phase === 'refused' &&
    /status of 401/.test(c.text) &&
    /\/api\/uplinks\/wan2\/block$/.test(c.url ?? '');
  const unexpected = complaints.filter((c) => !expected(c));
  assert.deepEqual(unexpected, [], 'no console errors, page errors or CSP violations');
});
