/**
 * Cross-checks of jobs: the names a condition or restart_on uses exist (did-you-mean), state
 * values are states, and no job waits for itself through job.X.running (directly or in a cycle).
 * They run on a config that may have failed elsewhere: read defensively.
 */
import { UPLINK_STATES } from '../model/uplink-states.js';
import { CondError, conditionTests, parseCondition, type Cond } from './condition.js';
import { closest } from './errors.js';
import type { AddIssue } from './routed-checks.js';

type Obj = Record<string, unknown>;

function known(name: string, all: readonly string[], what: string): string {
  const near = closest(name, [...all]);
  return `${near ? `did you mean "${near}"? ` : ''}${all.length ? `configured ${what}s: ${all.join(', ')}` : `no ${what}s are configured`}`;
}

function parsed(when: unknown): Cond | undefined {
  if (typeof when !== 'string') return undefined;
  try {
    return parseCondition(when.trim());
  } catch (e) {
    if (e instanceof CondError) return undefined; // the schema reported it
    throw e;
  }
}

/** Problems with the names in one condition, as [column, message, hint]. */
function nameProblems(c: Cond, uplinks: string[], jobs: string[]): [number, string, string][] {
  const out: [number, string, string][] = [];
  const uplink = (name: string, col: number) => {
    if (!uplinks.includes(name)) out.push([col, `unknown uplink "${name}"`, known(name, uplinks, 'uplink')]);
  };
  for (const t of conditionTests(c)) {
    if (t.op === 'flag') {
      if (t.flag.kind === 'job.running' && !jobs.includes(t.flag.job))
        out.push([t.column + 4, `unknown job "${t.flag.job}"`, known(t.flag.job, jobs, 'job')]);
      if (t.flag.kind === 'uplink.up' || t.flag.kind === 'uplink.selected') uplink(t.flag.uplink, t.column + 7);
    } else if (t.op === 'cmp') {
      if ('uplink' in t.value) uplink(t.value.uplink, t.column + 7);
      if (t.value.kind === 'uplink.state' && !(UPLINK_STATES as readonly string[]).includes(t.literal))
        out.push([
          t.literalAt,
          `"${t.literal}" is not an uplink state`,
          known(t.literal, UPLINK_STATES, 'state').replace('configured states', 'states'),
        ]);
      if (t.value.kind === 'default.uplink' && t.literal !== 'none' && !uplinks.includes(t.literal))
        out.push([t.literalAt, `unknown uplink "${t.literal}"`, known(t.literal, uplinks, 'uplink')]);
    }
  }
  return out;
}

/** The jobs a job's condition waits for. */
function waitsFor(c: Cond | undefined): string[] {
  if (!c) return [];
  return conditionTests(c).flatMap((t) => (t.op === 'flag' && t.flag.kind === 'job.running' ? [t.flag.job] : []));
}

/** A cycle through job.X.running that starts at `from`, as the path of names; undefined if none. */
function cycleFrom(from: string, deps: Map<string, string[]>): string[] | undefined {
  const walk = (at: string, path: string[]): string[] | undefined => {
    for (const next of deps.get(at) ?? []) {
      if (next === from) return [...path, next];
      if (!path.includes(next)) {
        const found = walk(next, [...path, next]);
        if (found) return found;
      }
    }
    return undefined;
  };
  return walk(from, [from]);
}

export function checkJobs(jobs: [string, Obj][], uplinks: string[], add: AddIssue): void {
  const names = jobs.map(([n]) => n);
  const conds = new Map(jobs.map(([n, j]) => [n, parsed(j.when)]));
  for (const [name, j] of jobs) {
    const c = conds.get(name);
    if (c)
      for (const [col, message, hint] of nameProblems(c, uplinks, names))
        add(['jobs', name, 'when'], j.when, `column ${col}: ${message} in "${String(j.when).trim()}"`, hint);
    (Array.isArray(j.restart_on) ? j.restart_on : []).forEach((v, i) => {
      const m = typeof v === 'string' ? /^uplink\.([^.]+)\./.exec(v) : null;
      if (m && !uplinks.includes(m[1]!))
        add(['jobs', name, 'restart_on', i], v, `unknown uplink "${m[1]}"`, known(m[1]!, uplinks, 'uplink'));
    });
  }
  const deps = new Map(names.map((n) => [n, waitsFor(conds.get(n))]));
  for (const [name, j] of jobs) {
    const cycle = cycleFrom(name, deps);
    if (!cycle) continue;
    const what =
      cycle.length === 2
        ? `job ${name} waits for itself (job.${name}.running)`
        : `jobs wait for each other in a cycle: ${cycle.join(' → ')}`;
    add(
      ['jobs', name, 'when'],
      j.when,
      what,
      'a job cannot start before it runs; remove the job.NAME.running that closes the cycle',
    );
  }
}
