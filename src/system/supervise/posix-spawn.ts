/**
 * posix_spawn(3) through koffi, and a SIGCHLD reaper for what it starts.
 *
 * Why: Node's child_process forks the daemon, and fork copies its page tables: measured here
 * 1.8 ms at 50 MB RSS, 4.4 ms in the running daemon, 7 ms at 100 MB — most of a hook's
 * latency (bench/hooks). glibc's posix_spawn uses clone(CLONE_VM | CLONE_VFORK): about
 * 0.25 ms whatever the RSS. It cannot change the user, so runs with `user`/`group` keep
 * child_process.
 *
 * The child gets what `spawn(..., { detached: true })` gives: a new session (pgid = pid),
 * default signal dispositions and an empty mask (Node ignores SIGPIPE; a child must not),
 * stdin /dev/null, stdout+stderr to the log file the caller opened, and no other descriptor.
 *
 * Exit: libuv reaps only the children it started (waitpid per pid), so ours stay zombies
 * until we reap them: each SIGCHLD, every pid we wait for gets waitpid(WNOHANG).
 */
import { readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { libc } from '../libc.js';

type Calls = ReturnType<typeof bind>;

// glibc's flags (spawn.h) and open(2) flags, x86_64 and arm64 alike.
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
const O_WRONLY = 0o1;
const WNOHANG = 1;
const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;
// Opaque glibc types, with room to spare: posix_spawn_file_actions_t 80 bytes,
// posix_spawnattr_t 336, sigset_t 128.
const FA_BYTES = 256;
const ATTR_BYTES = 512;
const SIGSET_BYTES = 128;

/** The libc calls; throws where one is missing (glibc before 2.34 has no closefrom). */
function bind() {
  const f = (decl: string) => libc.func(decl);
  return {
    spawn: f(
      'int posix_spawn(_Out_ int *pid, const char *path, void *fa, void *attr, const char **argv, const char **envp)',
    ),
    faInit: f('int posix_spawn_file_actions_init(void *)'),
    faOpen: f('int posix_spawn_file_actions_addopen(void *, int, const char *, int, unsigned int)'),
    faDup2: f('int posix_spawn_file_actions_adddup2(void *, int, int)'),
    faChdir: f('int posix_spawn_file_actions_addchdir_np(void *, const char *)'),
    faCloseFrom: f('int posix_spawn_file_actions_addclosefrom_np(void *, int)'),
    faDestroy: f('int posix_spawn_file_actions_destroy(void *)'),
    atInit: f('int posix_spawnattr_init(void *)'),
    atFlags: f('int posix_spawnattr_setflags(void *, short)'),
    atSigmask: f('int posix_spawnattr_setsigmask(void *, void *)'),
    atSigdefault: f('int posix_spawnattr_setsigdefault(void *, void *)'),
    atDestroy: f('int posix_spawnattr_destroy(void *)'),
    sigemptyset: f('int sigemptyset(void *)'),
    sigfillset: f('int sigfillset(void *)'),
  };
}

/** Bound apart from posix_spawn's: a libc without closefrom still seals descriptors and reaps. */
const waitpid = libc.func('int waitpid(int, _Out_ int *, int)');
const fcntl = libc.func('int fcntl(int, int, ...)');

let bound: Calls | null | undefined;
/** Bound on first use; null where this libc lacks a call (then child_process it is). */
function calls(): Calls | null {
  if (bound === undefined) {
    try {
      bound = bind();
    } catch {
      bound = null;
    }
  }
  return bound;
}

export interface PosixSpawnOptions {
  /** An absolute path (posix_spawn does not search PATH). */
  file: string;
  argv: string[];
  env: Record<string, string | undefined>;
  /** The child's stdout and stderr (the daemon closes its copy after the spawn); else /dev/null. */
  stdoutFd?: number;
  cwd: string;
}

/** Starts the process; its pid, or undefined when posix_spawn is not bound here. Throws errno on failure. */
export function posixSpawn(o: PosixSpawnOptions): number | undefined {
  const c = calls();
  if (!c) return undefined;
  const fa = Buffer.alloc(FA_BYTES);
  const attr = Buffer.alloc(ATTR_BYTES);
  const empty = Buffer.alloc(SIGSET_BYTES);
  const all = Buffer.alloc(SIGSET_BYTES);
  c.faInit(fa);
  c.atInit(attr);
  try {
    c.sigemptyset(empty);
    c.sigfillset(all);
    // Output first: a log file that got fd 0 (a daemon started with stdin closed) must be
    // copied before /dev/null takes 0.
    for (const r of [
      o.stdoutFd !== undefined ? c.faDup2(fa, o.stdoutFd, 1) : c.faOpen(fa, 1, '/dev/null', O_WRONLY, 0),
      c.faDup2(fa, 1, 2),
      c.faOpen(fa, 0, '/dev/null', 0, 0),
      c.faChdir(fa, o.cwd),
      c.faCloseFrom(fa, 3),
      c.atFlags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF),
      c.atSigmask(attr, empty),
      c.atSigdefault(attr, all),
    ])
      if (r !== 0) throw errnoError(r as number, 'posix_spawn setup');
    const env = Object.entries(o.env)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    const pid = [0];
    const r = c.spawn(pid, o.file, fa, attr, [...o.argv, null], [...env, null]) as number;
    if (r !== 0) throw errnoError(r, `cannot run ${o.file}`);
    return pid[0]!;
  } finally {
    c.faDestroy(fa);
    c.atDestroy(attr);
  }
}

const ERRNO: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  8: 'ENOEXEC',
  12: 'ENOMEM',
  13: 'EACCES',
  20: 'ENOTDIR',
};
function errnoError(errno: number, what: string): Error {
  const code = ERRNO[errno] ?? `errno ${errno}`;
  return Object.assign(new Error(`${what}: ${code}`), { code, errno });
}

/** How a reaped child ended, decoded from its wait status. */
export function decodeWaitStatus(status: number): { code: number | null; signal: string | null } {
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: null, signal: SIGNALS[sig] ?? `SIG${sig}` };
}

/** Signal numbers to names, from Node's own table (the names child_process reports). */
const SIGNALS: Record<number, string> = Object.fromEntries(
  Object.entries(constants.signals).map(([name, n]) => [n, name]),
);

const waiting = new Map<number, (r: { code: number | null; signal: string | null }) => void>();
let listening = false;

function reap(): void {
  const ended: [(r: { code: number | null; signal: string | null }) => void, number | undefined][] = [];
  for (const [pid, done] of waiting) {
    const status = [0];
    const r = waitpid(pid, status, WNOHANG) as number;
    if (r === 0) continue; // still running
    waiting.delete(pid);
    // -1 (ECHILD): someone else reaped it; it is gone all the same, status unknown.
    ended.push([done, r === pid ? status[0]! : undefined]);
  }
  if (!waiting.size && listening) {
    listening = false;
    process.off('SIGCHLD', reap);
  }
  // After the bookkeeping: a callback that starts (or throws) cannot disturb the loop above.
  for (const [done, status] of ended)
    queueMicrotask(() => done(status === undefined ? { code: null, signal: null } : decodeWaitStatus(status)));
}

/** Calls `done` once the posix-spawned child `pid` has exited (and reaps it). */
export function onExit(pid: number, done: (r: { code: number | null; signal: string | null }) => void): void {
  waiting.set(pid, done);
  if (!listening) {
    listening = true;
    process.on('SIGCHLD', reap);
  }
  // It may have ended before the listener was there: look once now.
  setImmediate(reap);
}

let sealed = false;
/**
 * Marks every descriptor above 2 close-on-exec, once: what the daemon inherited without the
 * flag (a pipe of the SSH session that started it, say) would otherwise pass on to every
 * child child_process starts (it closes nothing), and keep that session from closing.
 * posix_spawn closes them anyway; the daemon's own use of them is unchanged.
 */
export function sealInheritedFds(): void {
  if (sealed) return;
  sealed = true;
  let fds: string[] = [];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return;
  }
  for (const name of fds) {
    const fd = Number(name);
    if (!(fd > 2)) continue;
    const flags = fcntl(fd, F_GETFD, 'int', 0) as number;
    if (flags >= 0 && (flags & FD_CLOEXEC) === 0) fcntl(fd, F_SETFD, 'int', flags | FD_CLOEXEC);
  }
}
