/**
 * Spawning for the supervisor: a detached `/bin/sh -c` whose output goes to a file we
 * open (never a pipe to the daemon), polling waits, and the one-shot `disconnect` command.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import { UplinkError } from '../../errors.js';
import { findProgram } from '../trust.js';
import { onExit, posixSpawn, sealInheritedFds } from './posix-spawn.js';
import { processGroupAlive, signalGroup } from './proc.js';

export interface SpawnShellOptions {
  env?: Record<string, string>;
  logFile?: string;
  cwd?: string;
  /** Run this program with these arguments instead of `/bin/sh -c command` (no shell: one exec less). */
  argv?: string[];
  /** Run as this user and group: a job's `user`/`group`, names or numbers (from /etc/passwd, /etc/group). */
  user?: string;
  group?: string;
}

/** `name` or a number as an id from /etc/passwd or /etc/group (first and third fields; the fourth for a user's group). */
export function lookupId(file: '/etc/passwd' | '/etc/group', name: string): { id: number; gid?: number } | undefined {
  const numeric = /^\d+$/.test(name);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return numeric ? { id: Number(name) } : undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    // A uid or gid matches the third field (a user's primary group is the fourth).
    if ((numeric ? f[2] : f[0]) === name && f.length >= 3)
      return { id: Number(f[2]), ...(f[3] !== undefined && file === '/etc/passwd' ? { gid: Number(f[3]) } : {}) };
  }
  return numeric ? { id: Number(name) } : undefined;
}

function credentials(command: string, o: SpawnShellOptions): { uid?: number; gid?: number } {
  const refuse = (why: string, hint: string) => new UplinkError('SPAWN', `cannot run "${command}": ${why}`, hint);
  /** A `user` or `group` of the job, looked up; undefined when the job names none. */
  const id = (name: string | undefined, file: '/etc/passwd' | '/etc/group', what: 'user' | 'group') => {
    if (name === undefined) return undefined;
    const found = lookupId(file, name);
    if (!found) throw refuse(`no ${what} "${name}"`, `check the job's ${what} (getent ${file.slice(5)})`);
    return found;
  };
  const u = id(o.user, '/etc/passwd', 'user');
  const g = id(o.group, '/etc/group', 'group');
  const gid = g?.id ?? u?.gid;
  // Never root's group by accident: a uid without a passwd entry needs its group named.
  if (u && gid === undefined)
    throw refuse(`uid ${o.user} has no passwd entry to take a group from`, "set the job's group too");
  return { ...(u ? { uid: u.id } : {}), ...(gid !== undefined ? { gid } : {}) };
}

/** A started process: its pid, and its exit (reported once, from the event loop). */
export interface Started {
  pid: number;
  onExit(done: (code: number | null, signal: string | null) => void): void;
}

/**
 * Start `/bin/sh -c command` (or `argv`) as the leader of a new session and process group
 * (pgid = pid), stdin from /dev/null, stdout+stderr appended to `logFile` (or /dev/null). The
 * file is opened here and handed to the child as its fd, then closed in the daemon: the child
 * holds no pipe to us, so a daemon that dies or restarts cannot kill it with SIGPIPE, and it
 * gets default signal dispositions (not Node's ignored SIGPIPE). Through posix_spawn where it
 * can (no fork of the daemon: see posix-spawn.ts), else child_process (a `user`/`group`).
 * Throws UplinkError('SPAWN') when it cannot start. The child never keeps the daemon alive.
 */
export function startProcess(command: string, opts: SpawnShellOptions, log: Logger): Started {
  const cwd = opts.cwd ?? process.cwd();
  const isDir = statSync(cwd, { throwIfNoEntry: false })?.isDirectory() ?? false;
  if (!isDir) throw new UplinkError('SPAWN', `cannot run "${command}": working directory ${cwd} does not exist`);
  const ids = credentials(command, opts);
  const fd = opts.logFile !== undefined ? openLog(command, opts.logFile) : 'ignore';
  try {
    const env = { ...process.env, ...opts.env };
    const [file, args] = opts.argv?.length ? [opts.argv[0]!, opts.argv.slice(1)] : ['/bin/sh', ['-c', command]];
    const path =
      ids.uid === undefined && ids.gid === undefined ? findProgram(file, { cwd, path: env.PATH }) : undefined;
    const pid =
      path !== undefined ? fastSpawn(command, { file: path, argv: [file, ...args], env, cwd, fd }) : undefined;
    if (pid !== undefined) return { pid, onExit: (done) => onExit(pid, (r) => done(r.code, r.signal)) };
    sealInheritedFds();
    const child = nodeSpawn(command, file, args, { env, cwd, fd, ids }, log);
    return {
      pid: child.pid,
      onExit: (done) => {
        // 'exit' is emitted from the event loop, so attaching now cannot miss it; the check
        // covers a ChildProcess that already recorded its exit anyway.
        child.once('exit', done);
        if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode, child.signalCode);
        child.unref(); // the daemon may exit (hitless restart) while this runs
      },
    };
  } finally {
    if (typeof fd === 'number') closeSync(fd);
  }
}

function openLog(command: string, logFile: string): number {
  try {
    return openSync(logFile, 'a', 0o640);
  } catch (err) {
    throw new UplinkError(
      'SPAWN',
      `cannot run "${command}": cannot open log file ${logFile}: ${(err as Error).message}`,
      'check that the directory exists and is writable',
    );
  }
}

interface Prepared {
  env: NodeJS.ProcessEnv;
  cwd: string;
  fd: number | 'ignore';
}

/** posix_spawn; undefined where it is not available here. */
function fastSpawn(command: string, o: Prepared & { file: string; argv: string[] }): number | undefined {
  try {
    return posixSpawn({ ...o, ...(typeof o.fd === 'number' ? { stdoutFd: o.fd } : {}) });
  } catch (e) {
    // A script without #! line: execvp (child_process) runs it with /bin/sh, posix_spawn does not.
    if ((e as NodeJS.ErrnoException).code === 'ENOEXEC') return undefined;
    throw new UplinkError('SPAWN', `cannot run "${command}": ${(e as Error).message}`);
  }
}

function nodeSpawn(
  command: string,
  file: string,
  args: string[],
  o: Prepared & { ids: { uid?: number; gid?: number } },
  log: Logger,
): ChildProcess & { pid: number } {
  const child = spawn(file, args, { detached: true, stdio: ['ignore', o.fd, o.fd], env: o.env, cwd: o.cwd, ...o.ids });
  // Errors (a failed spawn, a failed kill) arrive as events; an unhandled one would crash us.
  child.on('error', (err) => log.warn({ err, command }, 'process error'));
  if (child.pid === undefined) {
    throw new UplinkError(
      'SPAWN',
      `cannot run "${command}"`,
      'the system may be out of processes or memory; see the log',
    );
  }
  return child as ChildProcess & { pid: number };
}

/** Resolve after `ms` on a ref'd timer (keeps the event loop, and so the wait, alive). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `done` (20 ms, backing off to 200 ms) until true (→ true) or `timeoutMs` passes (→ false). */
export async function waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let step = 20;
  for (;;) {
    if (done()) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await sleep(Math.min(step, left));
    step = Math.min(step * 2, 200);
  }
}

/** Keep the event loop alive while awaiting an unref'd child; call the result to release. */
export function keepAlive(): () => void {
  const t = setInterval(() => {}, 1 << 30);
  return () => clearInterval(t);
}

/**
 * Run a `disconnect` command to completion, but give up waiting when the main process is
 * gone (`mainGone`) or after `timeoutMs`; on timeout its own process group gets SIGTERM,
 * then SIGKILL a second later. Never throws: a failing disconnect only gets logged, the
 * caller goes on to signal the main process group anyway.
 */
export async function runDisconnect(
  command: string,
  opts: SpawnShellOptions & { timeoutMs: number },
  log: Logger,
  mainGone: Promise<unknown>,
): Promise<void> {
  let child: Started;
  try {
    child = startProcess(command, opts, log);
  } catch (err) {
    log.warn({ err, command }, 'disconnect command could not start');
    return;
  }
  const pgid = child.pid;
  const deadline = Date.now() + opts.timeoutMs;
  const done = new Promise<string>((resolve) => {
    child.onExit((code, signal) => resolve(signal ? `killed by ${signal}` : `exit ${code}`));
  });
  // Kept alive while it is awaited (a started process never holds the loop by itself).
  const release = keepAlive();
  void done.finally(release);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), opts.timeoutMs);
  });
  const outcome = await Promise.race([done, timedOut, mainGone.then(() => 'main gone')]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    log.warn({ command, pid: pgid, timeoutMs: opts.timeoutMs }, 'disconnect command timed out; killing it');
    signalGroup(pgid, 'SIGTERM');
    setTimeout(() => {
      if (processGroupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
    }, 1000).unref();
  } else if (outcome === 'main gone') {
    // Let it finish by itself (e.g. `poff` returns after pppd went away), bounded by its timeout.
    release();
    const t = setTimeout(() => signalGroup(pgid, 'SIGKILL'), Math.max(0, deadline - Date.now()));
    t.unref();
    void done.then(() => clearTimeout(t));
  } else if (outcome !== 'exit 0') {
    log.warn({ command, outcome }, 'disconnect command failed');
  } else {
    log.debug({ command }, 'disconnect command done');
  }
}
