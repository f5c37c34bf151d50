/**
 * `uplink demo` as CI and a fresh machine run it, the built CLI in a child process:
 * `--scenario --exit` passes every check of the scenario, its dashboard and login link answer
 * on the host's loopback and its status hint works; Ctrl-C while it waits, and Ctrl-C in the
 * middle of the scenario, both tear the sandbox down. The three run side by side.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { listNetns, waitFor } from '../../src/lab/harness.js';
import { UPLINK, uplinkCli } from '../../src/lab/daemon.js';
import { httpCall } from '../../src/lab/http-client.js';

const CHECKS = ['ready', 'failover', 'failback', 'cable pulled', 'idle hang-up', 'dial on demand', 'cable back'];
/** A run takes about 25 s; every wait in it is bounded by 30 s. */
const RUN_MS = 150_000;

interface Demo {
  out(): string;
  err(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The first match of `re` in stdout, once it is printed. */
  line(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  interrupt(): void;
  prefix(): Promise<string>;
}

/** Starts `uplink demo ARGS` with stdin not a terminal, as CI and scripts run it. */
function startDemo(t: { after(fn: () => Promise<void>): void }, args: string[]): Demo {
  const child = spawn(process.execPath, [UPLINK, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const line = (re: RegExp, timeoutMs = RUN_MS) =>
    waitFor(() => re.exec(out), { timeoutMs, intervalMs: 100, what: `${re} from uplink demo (stderr: ${err})` });
  const demo: Demo = {
    out: () => out,
    err: () => err,
    exited,
    line,
    interrupt: () => child.kill('SIGINT'),
    prefix: async () => (await line(/namespaces (ul[0-9a-f]+)-\{/))[1]!,
  };
  t.after(async () => {
    // A failed assertion must not leave the demo (and its namespaces) running.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    await exited;
  });
  return demo;
}

async function assertGone(prefix: string, socketDir?: string): Promise<void> {
  const left = (await listNetns()).filter((n) => n.startsWith(`${prefix}-`));
  assert.deepEqual(left, [], 'every namespace of the demo is gone');
  if (socketDir) assert.ok(!existsSync(socketDir), `its temp dir ${socketDir} is gone`);
}

describe('uplink demo', { concurrency: true, timeout: RUN_MS }, () => {
  test('--scenario --exit: every check passes, the dashboard answers on loopback, all torn down', async (t) => {
    const demo = startDemo(t, ['--scenario', '--exit']);
    const prefix = await demo.prefix();
    const base = (await demo.line(/dashboard: +(http:\/\/127\.0\.0\.1:\d+)\//))[1]!;
    const login = (await demo.line(/login link: +(\S+)/))[1]!;
    const socket = (await demo.line(/uplink --socket (\S+) status/))[1]!;

    const page = await httpCall(`${base}/`);
    assert.equal(page.status, 200, 'the dashboard page');
    const st = await httpCall(`${base}/api/status`);
    assert.equal(st.status, 200);
    assert.ok(st.json<{ result: { uplinks: { name: string }[] } }>().result.uplinks.some((u) => u.name === 'wan2'));
    const session = await httpCall(login);
    assert.equal(session.status, 303, `the login link: ${session.body}`);
    assert.match(String(session.headers['set-cookie']), /HttpOnly/);
    const status = await uplinkCli(['--socket', socket, 'status']);
    assert.equal(status.code, 0, `the status hint works: ${status.stderr}`);

    const { code } = await demo.exited;
    const out = demo.out();
    const printed = `\n${out}\nstderr: ${demo.err()}`;
    assert.equal(code, 0, `exit status${printed}`);
    for (const name of CHECKS) assert.match(out, new RegExp(`\\[PASS\\] ${name}: `), `check ${name}${printed}`);
    assert.doesNotMatch(out, /\[FAIL\]/, printed);
    assert.match(out, new RegExp(`checks: ${CHECKS.length} passed, 0 failed`));
    await assertGone(prefix, dirname(socket));
  });

  test('--wait: Ctrl-C while it waits tears everything down', async (t) => {
    const demo = startDemo(t, ['--scenario', '--wait']);
    const prefix = await demo.prefix();
    await demo.line(/^== waiting/m);
    assert.ok(
      (await listNetns()).some((n) => n === `${prefix}-gw`),
      'the sandbox stays while it waits',
    );
    demo.interrupt();
    const { code } = await demo.exited;
    assert.equal(code, 0, `all checks passed, then Ctrl-C (stderr: ${demo.err()})`);
    assert.match(demo.out(), /== SIGINT: tearing the sandbox down/);
    await assertGone(prefix);
  });

  test('without a terminal it says it will not wait; Ctrl-C mid-scenario tears down', async (t) => {
    const demo = startDemo(t, []);
    const prefix = await demo.prefix();
    assert.match(demo.out(), /stdin is not a terminal/);
    await demo.line(/\[PASS\] failover: /);
    demo.interrupt();
    const { code } = await demo.exited;
    assert.equal(code, 130, `interrupted (stderr: ${demo.err()})`);
    await assertGone(prefix);
  });
});
