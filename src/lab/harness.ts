// Lab harness: throw-away network namespaces for tests, benchmarks and `uplink demo`.
//
// Safety model: every networking command runs inside a namespace this Lab created
// (`ip -n NAME` / `ip netns exec NAME`), namespaces carry a random per-lab prefix, and
// teardown deletes them by exact name and kills processes by PID (never by pattern).

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NsProcess, run, type ExecOptions, type ExecResult, type SpawnOptions } from './process.js';

// Command running, polling and namespace processes live in process.ts; re-exported here so
// importers keep using harness.js.
export { ExecError, listNetns, NsProcess, pidAlive, sleep, waitFor } from './process.js';
export type {
  ExecOptions,
  ExecResult,
  ExitInfo,
  SpawnOptions,
  Stream,
  Truthy,
  WaitForOptions,
  WaitLineOptions,
} from './process.js';

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
  constructor(
    readonly lab: Lab,
    readonly name: string,
    readonly role: string,
  ) {}

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
  /** Run at teardown once the processes are dead and the namespaces gone (host-wide leftovers). */
  private readonly cleanups: (() => Promise<void>)[] = [];
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

  /** Runs `fn` at teardown, after the processes and namespaces are gone. */
  onTeardown(fn: () => Promise<void>): void {
    this.cleanups.push(fn);
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
      for (const fn of this.cleanups) await fn().catch((e: unknown) => this.log(`cleanup: ${e}`));
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
    this.cleanups.length = 0;
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
