// Lab harness: throw-away network namespaces for tests, benchmarks and `uplink demo`.
//
// Safety model: every networking command runs inside a namespace this Lab created
// (`ip -n NAME` / `ip netns exec NAME`), namespaces carry a random per-lab prefix, and
// teardown deletes them by exact name and kills processes by PID (never by pattern).

import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// ---------------------------------------------------------------------------------------
// Running commands

export interface ExecOptions {
  /** Reject on non-zero exit (default true). */
  check?: boolean;
  /** Kill the command after this long (default 60 s, 0 = never) so a hung tool fails a test. */
  timeoutMs?: number;
  /** Extra environment variables (merged over process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ExecError extends Error {
  constructor(readonly argv: string[], readonly result: ExecResult) {
    const how = result.code === null ? `killed by ${result.signal}` : `exited with ${result.code}`;
    super(`${argv.join(' ')} ${how}: ${(result.stderr || result.stdout).trim().slice(-2000)}`);
    this.name = 'ExecError';
  }
}

function run(file: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const o = {
      encoding: 'utf8' as const,
      maxBuffer: 64 << 20,
      timeout: opts.timeoutMs ?? 60_000,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
    };
    execFile(file, args, o, (err, stdout, stderr) => {
      const code: unknown = err?.code;
      // A string code (ENOENT, ...) means the command never ran: no exit status to report.
      if (typeof code === 'string') return reject(err);
      const result: ExecResult = {
        stdout,
        stderr,
        code: err ? (typeof code === 'number' ? code : null) : 0,
        signal: err?.signal ?? null,
      };
      if (result.code !== 0 && opts.check !== false) reject(new ExecError([file, ...args], result));
      else resolve(result);
    });
  });
}

/** Names of all network namespaces on the host (read-only; for assertions). */
export async function listNetns(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  // Lines look like "NAME" or "NAME (id: 3)".
  return stdout.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
}

/** `/proc/PID/stat` state letter and process group, or undefined if there is no such PID. */
function procStat(pid: number): { state: string; pgrp: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // comm may contain spaces
    return { state: f[0]!, pgrp: Number(f[2]) };
  } catch {
    return undefined;
  }
}

/**
 * True if the process exists and is not a zombie. Zombies count as dead: orphans are reaped
 * by PID 1, which in some containers does so only every couple of seconds.
 */
export function pidAlive(pid: number): boolean {
  const st = procStat(pid);
  return st !== undefined && st.state !== 'Z';
}

/** True if any non-zombie process is still in process group `pgid`. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0); // cheap "no such group" answer first
  } catch {
    return false;
  }
  return readdirSync('/proc').some((d) => {
    const st = /^\d+$/.test(d) ? procStat(Number(d)) : undefined;
    return st?.pgrp === pgid && st.state !== 'Z';
  });
}

// ---------------------------------------------------------------------------------------
// Polling

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Describes the condition in the timeout error. */
  what?: string;
}

/**
 * Polls `fn` until it returns a truthy value (which is returned). Throws from `fn` count as
 * "not yet". On timeout the error names `what` and the last value / error seen.
 */
export type Truthy<T> = Exclude<T, false | 0 | 0n | '' | null | undefined>;

export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<Truthy<T>> {
  const { timeoutMs = 5000, intervalMs = 50, what = 'condition' } = opts;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await fn();
      lastErr = undefined;
      if (last) return last as Truthy<T>;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  const seen = lastErr !== undefined ? `last error: ${String(lastErr)}` : `last value: ${safeJson(last)}`;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${seen}`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

// ---------------------------------------------------------------------------------------
// Processes spawned inside a namespace

export type Stream = 'stdout' | 'stderr';

export interface SpawnOptions {
  /**
   * Own process group (default true), so teardown can signal the whole group and no
   * grandchild survives holding the namespace alive (a deleted netns lives on while a
   * process is still inside it).
   */
  detached?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdin?: 'ignore' | 'pipe';
  /** Called for every output line (e.g. to echo a daemon's log in `uplink demo`). */
  onLine?: (line: string, stream: Stream) => void;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface WaitLineOptions {
  stream?: Stream | 'both';
  timeoutMs?: number;
  /** Ignore lines printed before this call (default: they count, so no start-up race). */
  fromNow?: boolean;
}

const MAX_LINES = 5000; // enough for assertions without growing forever in benchmarks

/** A child process running inside a namespace via `ip netns exec` (which execs: same PID). */
export class NsProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly detached: boolean;
  /** Resolves when the process has exited (it never rejects). */
  readonly exited: Promise<ExitInfo>;
  private readonly out: { stream: Stream; line: string }[] = [];
  private dropped = 0; // lines discarded from the front of `out` (keeps indices stable)
  private closed = false;
  private readonly wake = new Set<() => void>();

  constructor(readonly nsName: string, readonly cmd: string, readonly args: string[], opts: SpawnOptions = {}) {
    this.detached = opts.detached ?? true;
    this.child = spawn('ip', ['netns', 'exec', nsName, cmd, ...args], {
      detached: this.detached,
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve({ code, signal }));
      this.child.once('error', () => resolve({ code: null, signal: null }));
    });
    if (this.child.pid === undefined) throw new Error(`could not spawn ${cmd} in ${nsName}`);
    this.pid = this.child.pid;
    for (const stream of ['stdout', 'stderr'] as const) {
      let partial = '';
      const src = this.child[stream]!;
      src.setEncoding('utf8');
      src.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop()!;
        for (const line of parts) this.push(stream, line, opts.onLine);
      });
      src.on('end', () => partial && this.push(stream, partial, opts.onLine));
    }
    // 'close' = process gone and pipes drained: waiters can no longer be satisfied.
    this.child.once('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Captured output lines (the last few thousand). */
  lines(stream: Stream | 'both' = 'both'): string[] {
    return this.out.filter((l) => stream === 'both' || l.stream === stream).map((l) => l.line);
  }

  /** Resolves with the match of the first line matching `re`; rejects on timeout or exit. */
  waitForLine(re: RegExp, opts: WaitLineOptions = {}): Promise<RegExpMatchArray> {
    const { stream = 'both', timeoutMs = 10_000 } = opts;
    let next = opts.fromNow ? this.dropped + this.out.length : this.dropped;
    return new Promise((resolve, reject) => {
      const check = () => {
        for (next = Math.max(next, this.dropped); next < this.dropped + this.out.length; next++) {
          const l = this.out[next - this.dropped]!;
          const m = stream === 'both' || l.stream === stream ? l.line.match(re) : null;
          if (m) return done(() => resolve(m));
        }
        if (this.closed) done(() => reject(this.failure(`exited before printing ${re}`)));
      };
      const timer = setTimeout(() => done(() => reject(this.failure(`no line matching ${re} within ${timeoutMs} ms`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.wake.delete(check);
        settle();
      };
      this.wake.add(check);
      check();
    });
  }

  /** Sends a signal by PID (or to the whole process group when detached). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (!this.running && !this.detached) return false; // PID may be reused: never signal it
    try {
      // A group ID is never reused while any member lives, so signalling the group after
      // the leader has exited is still safe and reaches leftover grandchildren.
      process.kill(this.detached ? -this.pid : this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGTERM, then SIGKILL whatever (leader or group) is still alive after `graceMs`. */
  async stop(graceMs = 2000): Promise<ExitInfo> {
    this.kill('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && (this.running || this.groupAlive())) await sleep(25);
    if (this.running || this.groupAlive()) this.kill('SIGKILL');
    return this.exited;
  }

  private groupAlive(): boolean {
    return this.detached && groupAlive(this.pid);
  }

  private push(stream: Stream, line: string, onLine?: SpawnOptions['onLine']) {
    this.out.push({ stream, line });
    if (this.out.length > MAX_LINES) {
      this.out.shift();
      this.dropped++;
    }
    onLine?.(line, stream);
    this.notify();
  }

  private notify() {
    for (const f of [...this.wake]) f();
  }

  private failure(why: string): Error {
    const tail = this.out.slice(-20).map((l) => `  ${l.stream}: ${l.line}`).join('\n');
    return new Error(`${this.cmd} (pid ${this.pid} in ${this.nsName}) ${why}\n${tail}`);
  }
}

// ---------------------------------------------------------------------------------------
// Namespaces

export interface NsOptions {
  /** Router namespace: net.ipv4.ip_forward=1. */
  forwarding?: boolean;
  /** Extra sysctls set at creation (after the Debian defaults, so they can override them). */
  sysctls?: Record<string, string | number>;
}

/** One network namespace owned by a Lab. */
export class Ns {
  constructor(readonly lab: Lab, readonly name: string, readonly role: string) {}

  /** Runs argv inside the namespace. */
  exec(cmd: string[], opts?: ExecOptions): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.name, ...cmd], opts);
  }

  sh(script: string, opts?: ExecOptions): Promise<ExecResult> {
    return this.exec(['bash', '-c', script], opts);
  }

  /** `ip -n NAME ...args`. Use keywords (`dev`, `name`): interfaces here are called "up"/"down". */
  ip(args: string[], opts?: ExecOptions): Promise<ExecResult> {
    return run('ip', ['-n', this.name, ...args], opts);
  }

  /** `ip -j` output parsed (an empty answer gives []). */
  async ipJson<T = unknown>(args: string[]): Promise<T> {
    const { stdout } = await run('ip', ['-j', '-n', this.name, ...args]);
    return JSON.parse(stdout.trim() || '[]') as T;
  }

  /** Loads an nft ruleset. Through a temp file: `nft -f -` fails on a Node pipe (ENXIO). */
  async nft(rulesetText: string, opts?: ExecOptions): Promise<ExecResult> {
    const file = this.lab.tempFile('nft', rulesetText);
    try {
      return await this.exec(['nft', '-f', file], opts);
    } finally {
      unlinkSync(file);
    }
  }

  async sysctl(key: string, value: string | number): Promise<void> {
    await this.exec(['sysctl', '-qw', `${key}=${value}`]);
  }

  async sysctlGet(key: string): Promise<string> {
    return (await this.exec(['sysctl', '-n', key])).stdout.trim();
  }

  /** Starts a tracked process inside the namespace; the lab kills it on teardown. */
  spawn(cmd: string, args: string[] = [], opts?: SpawnOptions): NsProcess {
    return this.lab.track(new NsProcess(this.name, cmd, args, opts));
  }
}

// ---------------------------------------------------------------------------------------
// The lab

export interface LabOptions {
  /** Namespace name prefix (default "ul" + 6 random hex chars). */
  prefix?: string;
  /** Where teardown problems are reported (default stderr). */
  log?: (msg: string) => void;
}

export interface VethOptions {
  aAddr?: string; // CIDR, e.g. "198.51.100.2/30"
  bAddr?: string;
  up?: boolean; // default true
}

// Labs not yet torn down, for the exit / signal hooks.
const live = new Set<Lab>();

export class Lab {
  prefix = '';
  private log: (msg: string) => void = (m) => process.stderr.write(`[lab ${this.prefix}] ${m}\n`);
  private readonly owned: Ns[] = []; // only namespaces WE added: teardown deletes exactly these
  private readonly deleted = new Set<string>();
  private readonly procs = new Set<NsProcess>();
  private tmp: string | undefined;
  private tmpSeq = 0;
  private closing: Promise<void> | undefined;

  static async create(opts?: LabOptions): Promise<Lab> {
    const lab = new Lab();
    await lab.start(opts);
    return lab;
  }

  async start(opts: LabOptions = {}): Promise<this> {
    if (this.prefix) throw new Error('lab already started');
    const prefix = opts.prefix ?? `ul${randomBytes(3).toString('hex')}`;
    if (!/^[a-z0-9][a-z0-9-]*$/.test(prefix)) throw new Error(`bad lab prefix ${prefix}`);
    this.prefix = prefix;
    if (opts.log) this.log = opts.log;
    live.add(this);
    hook();
    return this;
  }

  /** Names of the namespaces this lab created. */
  get namespaces(): string[] {
    return this.owned.map((n) => n.name);
  }

  /** Creates namespace `${prefix}-${role}` with lo up and Debian's loose rp_filter. */
  async ns(role: string, opts: NsOptions = {}): Promise<Ns> {
    if (!this.prefix || this.closing) throw new Error('lab not started or already torn down');
    if (!/^[a-z0-9][a-z0-9-]*$/.test(role)) throw new Error(`bad namespace role ${role}`);
    const name = `${this.prefix}-${role}`;
    if (this.owned.some((n) => n.name === name)) throw new Error(`namespace ${name} already exists in this lab`);
    await run('ip', ['netns', 'add', name]);
    const ns = new Ns(this, name, role);
    this.owned.push(ns); // only after `add` succeeded: never delete a namespace we did not make
    await ns.ip(['link', 'set', 'dev', 'lo', 'up']);
    const sysctls: Record<string, string | number> = {
      // Debian/Ubuntu ship loose reverse-path filtering; this host has 0. Test against what
      // production runs, or a test passes while real gateways drop replayed packets.
      'net.ipv4.conf.all.rp_filter': 2,
      'net.ipv4.conf.default.rp_filter': 2,
      ...(opts.forwarding ? { 'net.ipv4.ip_forward': 1 } : {}),
      ...opts.sysctls,
    };
    await ns.exec(['sysctl', '-qw', ...Object.entries(sysctls).map(([k, v]) => `${k}=${v}`)]);
    return ns;
  }

  /** A veth pair straight between two namespaces (made in `a`, peer created inside `b`). */
  async veth(a: Ns, aIf: string, b: Ns, bIf: string, opts: VethOptions = {}): Promise<void> {
    for (const n of [aIf, bIf]) if (!/^[A-Za-z0-9_.-]{1,15}$/.test(n)) throw new Error(`bad interface name ${n}`);
    await a.ip(['link', 'add', 'name', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', b.name]);
    if (opts.aAddr) await a.ip(['addr', 'add', opts.aAddr, 'dev', aIf]);
    if (opts.bAddr) await b.ip(['addr', 'add', opts.bAddr, 'dev', bIf]);
    if (opts.up !== false) {
      await a.ip(['link', 'set', 'dev', aIf, 'up']);
      await b.ip(['link', 'set', 'dev', bIf, 'up']);
    }
  }

  /** Writes a file in this lab's private temp directory and returns its path. */
  tempFile(tag: string, content: string): string {
    this.tmp ??= mkdtempSync(join(tmpdir(), `${this.prefix}-`));
    const file = join(this.tmp, `${tag}-${++this.tmpSeq}`);
    writeFileSync(file, content);
    return file;
  }

  /** @internal Registers a process for teardown. */
  track(p: NsProcess): NsProcess {
    this.procs.add(p);
    void p.exited.then(() => {
      if (!p.detached) this.procs.delete(p); // a detached group may outlive its leader
    });
    return p;
  }

  /** Kills tracked processes, deletes our namespaces. Idempotent, never throws. */
  teardown(): Promise<void> {
    this.closing ??= this.doTeardown();
    return this.closing;
  }

  private async doTeardown(): Promise<void> {
    try {
      await Promise.all([...this.procs].map((p) => p.stop(2000).catch((e) => this.log(`stop ${p.pid}: ${e}`))));
      for (const ns of this.owned) {
        if (this.deleted.has(ns.name)) continue;
        try {
          this.killStragglers(ns.name, (await run('ip', ['netns', 'pids', ns.name])).stdout);
          const r = await run('ip', ['netns', 'del', ns.name], { check: false });
          if (r.code === 0) this.deleted.add(ns.name);
          else this.log(`ip netns del ${ns.name}: ${r.stderr.trim()}`);
        } catch (e) {
          this.log(`deleting ${ns.name}: ${e}`);
        }
      }
    } catch (e) {
      this.log(`teardown: ${e}`);
    } finally {
      this.finish();
    }
  }

  /** Synchronous last resort from process 'exit': no waiting possible, so SIGKILL at once. */
  teardownSync(): void {
    for (const p of this.procs) p.kill('SIGKILL');
    for (const ns of this.owned) {
      if (this.deleted.has(ns.name)) continue;
      try {
        this.killStragglers(ns.name, execFileSync('ip', ['netns', 'pids', ns.name], { encoding: 'utf8' }));
        execFileSync('ip', ['netns', 'del', ns.name], { stdio: 'ignore' });
        this.deleted.add(ns.name);
      } catch (e) {
        this.log(`deleting ${ns.name}: ${e}`);
      }
    }
    this.finish();
  }

  // Anything still inside our namespace descends from our commands (e.g. a daemon's child
  // that left its group); it would keep the deleted namespace alive, so kill it by PID.
  private killStragglers(ns: string, pidsText: string) {
    for (const pid of pidsText.split(/\s+/).filter(Boolean).map(Number)) {
      this.log(`killing pid ${pid} left in ${ns}`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  private finish() {
    this.procs.clear();
    if (this.tmp) rmSync(this.tmp, { recursive: true, force: true });
    this.tmp = undefined;
    live.delete(this);
    if (live.size === 0) unhook();
  }
}

// ---------------------------------------------------------------------------------------
// Process-wide cleanup hooks, installed only while a lab is live so that a process without
// labs keeps Node's default signal behaviour.

function onExit() {
  for (const lab of [...live]) lab.teardownSync();
}

function onSignal(sig: NodeJS.Signals) {
  // If nobody else listens, Node would have died of this signal: do so after cleaning up.
  const othersListening = process.listenerCount(sig) > 1;
  process.off('SIGINT', onSigint).off('SIGTERM', onSigterm); // a second Ctrl-C kills at once
  void Promise.allSettled([...live].map((l) => l.teardown())).then(() => {
    if (!othersListening) process.kill(process.pid, sig);
  });
}
const onSigint = () => onSignal('SIGINT');
const onSigterm = () => onSignal('SIGTERM');

let hooked = false;
function hook() {
  if (hooked) return;
  hooked = true;
  process.on('exit', onExit).on('SIGINT', onSigint).on('SIGTERM', onSigterm);
}
function unhook() {
  hooked = false;
  process.off('exit', onExit).off('SIGINT', onSigint).off('SIGTERM', onSigterm);
}

// ---------------------------------------------------------------------------------------
// Conveniences

/** Runs fn with a fresh lab and always tears it down, even when fn throws. */
export async function withLab<T>(fn: (lab: Lab) => Promise<T>, opts?: LabOptions): Promise<T> {
  const lab = await Lab.create(opts);
  try {
    return await fn(lab);
  } finally {
    await lab.teardown();
  }
}

/** For node:test: `const lab = await labForTest(t)`; torn down after the test. */
export async function labForTest(t: { after(fn: () => Promise<void>): void }, opts?: LabOptions): Promise<Lab> {
  const lab = await Lab.create(opts);
  t.after(() => lab.teardown());
  return lab;
}
