/**
 * /proc and kill(2) helpers for the process supervisor: liveness that ignores zombies and
 * detects pid reuse, and signalling that refuses anything but a real pid / pgid of ours.
 *
 * Never kill by name or pattern: only by a pid or process-group id we started or adopted.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  /** Field 3: R, S, D, Z (zombie), X (dead), T, t, I, ... */
  state: string;
  ppid: number;
  /** Field 5: process-group id. */
  pgrp: number;
  session: number;
  /** Field 22: start time in clock ticks after boot; with the pid it names one process. */
  startTime: number;
}

/** Parse /proc/PID/stat; undefined when the process does not exist (any more). */
export function readProcStat(pid: number): ProcStat | undefined {
  if (!validPid(pid)) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  return parseProcStat(text);
}

/** `comm` (field 2) may hold spaces and parentheses: fields resume after the LAST ')'. */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number.parseInt(text, 10);
  const f = text
    .slice(close + 1)
    .trim()
    .split(/\s+/); // f[n - 3] is field n
  const num = (n: number): number => Number(f[n - 3]);
  const st = { pid, state: f[0] ?? '', ppid: num(4), pgrp: num(5), session: num(6), startTime: num(22) };
  return Number.isFinite(st.pid) && Number.isFinite(st.pgrp) && Number.isFinite(st.startTime) ? st : undefined;
}

/**
 * A zombie (exited, not yet reaped by its parent) counts as dead. Its parent may be a
 * PID 1 that never reaps (containers, microVMs), so zombies can linger for ever. A
 * thread-group leader that exited while other threads run also shows 'Z' but is alive.
 */
export function isDead(st: ProcStat): boolean {
  if (st.state === 'X') return true;
  if (st.state !== 'Z') return false;
  try {
    return readdirSync(`/proc/${st.pid}/task`).length <= 1;
  } catch {
    return true;
  }
}

/** The process exists, is not a zombie and (if given) has this start time (no pid reuse). */
export function processAlive(pid: number, startTime?: number): boolean {
  const st = readProcStat(pid);
  if (!st || isDead(st)) return false;
  return startTime === undefined || st.startTime === startTime;
}

/** Live (non-zombie) members of a process group, found by scanning /proc. */
export function groupMembers(pgid: number, limit = Number.POSITIVE_INFINITY): number[] {
  const found: number[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const st = readProcStat(Number(name));
    if (st && st.pgrp === pgid && !isDead(st)) {
      found.push(st.pid);
      if (found.length >= limit) break;
    }
  }
  return found;
}

/**
 * True while a process group has a member that is not a zombie. kill(-pgid, 0) is the
 * cheap first answer; when it says "exists" we confirm in /proc, because zombie members
 * (exited, parent not reaping) keep the group existing for the kernel.
 */
export function processGroupAlive(pgid: number): boolean {
  if (!validPid(pgid)) return false;
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: it exists but we may not signal it; ask /proc.
  }
  return groupMembers(pgid, 1).length > 0;
}

/** A pid/pgid we may ever signal: a positive integer, never 1, never ourselves. */
export function validPid(pid: number): boolean {
  return Number.isSafeInteger(pid) && pid > 1;
}

let ownPgrp: number | undefined;
function ownProcessGroup(): number {
  ownPgrp ??= readProcStat(process.pid)?.pgrp ?? process.pid;
  return ownPgrp;
}

/**
 * Send a signal to a whole process group. Refuses 0, 1, negatives and our own group
 * (kill(0) / kill(-1) would hit the daemon or every process). False when nothing got it.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (!validPid(pgid) || pgid === ownProcessGroup()) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Send a signal to one process, only if it is still the one that started at `startTime`. */
export function signalPid(pid: number, signal: NodeJS.Signals, startTime?: number): boolean {
  if (!validPid(pid) || pid === process.pid) return false;
  if (startTime !== undefined && readProcStat(pid)?.startTime !== startTime) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}
