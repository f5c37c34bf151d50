/**
 * cgroup v2 containment for supervised jobs (docs/jobs.md, "Containment"). A process group
 * holds only what does not call setsid/setpgid; a cgroup holds everything a job ever forked,
 * daemonized or not: `cgroup.kill` ends all of it, `cgroup.events` says when it is empty.
 *
 * Where: under the daemon's own cgroup in the first cgroup2 mount — the root of the hybrid
 * hierarchy at /sys/fs/cgroup/unified, or /sys/fs/cgroup/system.slice/uplinkd.service under
 * systemd (which must delegate it: `Delegate=yes`). No controllers are enabled: we need
 * membership, not resource limits, and a cgroup without them may hold processes beside
 * child cgroups (cgroup v2's "no internal processes" rule is about controllers).
 *
 * How a child is born inside: Node cannot clone(CLONE_INTO_CGROUP), and moving the child after
 * spawn() races with whatever it forks first. So the daemon moves ITSELF into the job's
 * cgroup, spawns (fork inherits the cgroup), and moves back — synchronously, so nothing else
 * the daemon spawns can land there. A migration costs a few ms (an RCU sync in the kernel),
 * paid once per job start.
 */
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { validPid } from './proc.js';

/** The first cgroup2 mount point and its root, from /proc/self/mountinfo. */
function cgroup2Mount(): { point: string; root: string } | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!right?.startsWith('cgroup2 ')) continue;
    const f = left!.split(' ');
    if (f[3] && f[4]) return { root: unescapeMount(f[3]), point: unescapeMount(f[4]) };
  }
  return undefined;
}

/** The cgroup2 mount's super options (`rw,nsdelegate,memory_recursiveprot`): a second mount must repeat them. */
export function cgroup2SuperOptions(): string | undefined {
  try {
    const line = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((l) => l.split(' - ')[1]?.startsWith('cgroup2 '));
    const opts = line?.split(' - ')[1]?.split(' ')[2];
    return opts && /^[\w,=]+$/.test(opts) ? opts : undefined;
  } catch {
    return undefined;
  }
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescapeMount = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/** A process's cgroup v2 directory (the `0::PATH` line of /proc/PID/cgroup); undefined without v2. */
export function cgroupOf(pid: number | 'self'): string | undefined {
  const mount = cgroup2Mount();
  if (!mount) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^0::(\/.*)$/m.exec(text);
  if (!m) return undefined;
  // A bind-mounted subtree (containers) has a root other than "/": paths are below it.
  let path = m[1]!;
  if (mount.root !== '/' && (path === mount.root || path.startsWith(`${mount.root}/`)))
    path = path.slice(mount.root.length) || '/';
  return resolve(mount.point, `.${path}`);
}

/** A child cgroup name: path segments of letters, digits, `.`, `_`, `-`; never `cgroup.*` (the kernel's files). */
export function validCgroupName(name: string): boolean {
  return name
    .split('/')
    .every((s) => /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(s) && !s.startsWith('cgroup.') && s.length <= 200);
}

/**
 * Make `name` (relative to the daemon's own cgroup) and return its directory; throws the
 * system's error when there is no writable cgroup v2 hierarchy (EACCES, EROFS, ENOENT).
 */
export function createCgroup(name: string): string {
  const own = cgroupOf('self');
  if (!own) throw Object.assign(new Error('no cgroup v2 hierarchy is mounted'), { code: 'ENOENT' });
  if (!validCgroupName(name)) throw new Error(`bad cgroup name ${JSON.stringify(name)}`);
  const dir = join(own, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** `dir` is `own` or above it (also when unknown): the daemon's own cgroup is never killed nor signalled. */
export function holdsCgroup(dir: string, own: string | undefined): boolean {
  const d = resolve(dir);
  return own === undefined || own === d || own.startsWith(`${d}/`) || d === '/';
}

/** Moving the daemon into a job's cgroup was refused (nothing was spawned). */
export class CgroupEntryError extends Error {}

/** cgroup files are the kernel's: never create or truncate one that is not there. */
const writeCgroupFile = (path: string, text: string) => writeFileSync(path, text, { flag: 'r+' });

/**
 * Run `spawn` (a synchronous fork+exec) with the daemon inside `dir`, so the child starts
 * there, then move the daemon back. Throws CgroupEntryError, having spawned nothing, when the
 * daemon cannot enter; a spawn's own error passes through. `home: false`: the daemon could
 * not get back to its own cgroup (it is still in `dir`; the caller stops using cgroups).
 */
export function spawnInCgroup<T>(dir: string, spawn: () => T): { value: T; home: boolean } {
  const home = cgroupOf('self');
  if (!home) throw new CgroupEntryError('no cgroup v2 hierarchy is mounted');
  try {
    writeCgroupFile(join(dir, 'cgroup.procs'), String(process.pid));
  } catch (e) {
    throw new CgroupEntryError(`cannot enter ${dir}: ${(e as Error).message}`);
  }
  let value: T;
  try {
    value = spawn();
  } catch (e) {
    goHome(home);
    throw e;
  }
  return { value, home: goHome(home) };
}

function goHome(home: string): boolean {
  for (let i = 0; i < 3; i++) {
    try {
      writeCgroupFile(join(home, 'cgroup.procs'), String(process.pid));
      return true;
    } catch {
      /* tried again below */
    }
  }
  return false;
}

/** A live process is in the cgroup or below it (`populated` of cgroup.events; zombies do not count, measured). */
export function cgroupPopulated(dir: string): boolean {
  try {
    return /^populated 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'utf8'));
  } catch {
    return false;
  }
}

/** The processes directly in the cgroup. */
export function cgroupPids(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .filter((p) => validPid(p) && p !== process.pid);
  } catch {
    return [];
  }
}

/** Signal every process in the cgroup: SIGKILL through cgroup.kill (atomic, reaches new forks too). */
export function signalCgroup(dir: string, signal: NodeJS.Signals): boolean {
  if (holdsCgroup(dir, cgroupOf('self'))) return false;
  if (signal === 'SIGKILL') {
    try {
      writeCgroupFile(join(dir, 'cgroup.kill'), '1');
      return true;
    } catch {
      // Kernels before 5.14 have no cgroup.kill: one by one below.
    }
  }
  let any = false;
  for (const pid of cgroupPids(dir)) {
    try {
      process.kill(pid, signal);
      any = true;
    } catch {
      /* gone meanwhile */
    }
  }
  return any;
}

/**
 * Remove an empty cgroup, then its parent if that is empty and not the daemon's own. False
 * while it is busy: the kernel may refuse (EBUSY) for a moment after `populated` went 0,
 * until the last task is released (measured) — the caller retries.
 */
export function removeCgroup(dir: string): boolean {
  const own = cgroupOf('self');
  for (let d = dir; own !== undefined && d.startsWith(`${own}/`); d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // The job's own cgroup busy: try again; its parent busy: other jobs' cgroups are in it.
      if (code === 'ENOENT') continue;
      return d !== dir || code !== 'EBUSY';
    }
  }
  return true;
}

/**
 * What a dead job instance left in its cgroup (a daemonized child, found by the next daemon):
 * killed, and the cgroup removed. Only a directory of a cgroup2 mount below one of our
 * `uplinkd-jobs-*` cgroups, never the daemon's own or above it.
 */
export async function endLeftoverCgroup(dir: string, wait: (ms: number) => Promise<unknown>): Promise<boolean> {
  const mount = cgroup2Mount();
  const d = resolve(dir);
  if (!mount || !d.startsWith(`${mount.point}/`) || !/\/uplinkd-jobs-[0-9a-f]+\//.test(d)) return false;
  if (holdsCgroup(d, cgroupOf('self'))) return false;
  signalCgroup(d, 'SIGKILL');
  for (let i = 0; i < 100 && cgroupPopulated(d); i++) await wait(20);
  for (let i = 0; i < 50 && !removeCgroup(d); i++) await wait(20);
  return !cgroupPopulated(d);
}
