// Lab harness, command-running and process half: running commands, polling, and processes
// spawned inside a namespace. Re-exported from harness.ts (see the safety model there).

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

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
  constructor(
    readonly argv: string[],
    readonly result: ExecResult,
  ) {
    const how = result.code === null ? `killed by ${result.signal}` : `exited with ${result.code}`;
    super(`${argv.join(' ')} ${how}: ${(result.stderr || result.stdout).trim().slice(-2000)}`);
    this.name = 'ExecError';
  }
}

export function run(file: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
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
  return stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
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

  constructor(
    readonly nsName: string,
    readonly cmd: string,
    readonly args: string[],
    opts: SpawnOptions = {},
  ) {
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
      const timer = setTimeout(
        () => done(() => reject(this.failure(`no line matching ${re} within ${timeoutMs} ms`))),
        timeoutMs,
      );
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
    const tail = this.out
      .slice(-20)
      .map((l) => `  ${l.stream}: ${l.line}`)
      .join('\n');
    return new Error(`${this.cmd} (pid ${this.pid} in ${this.nsName}) ${why}\n${tail}`);
  }
}
