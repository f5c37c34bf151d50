/**
 * What a new config changes beyond the kernel and the ruleset, for `uplink plan FILE`: uplinks
 * added, removed or changed (which keys), and what happens to each job. Pure, table-tested.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/schema.js';
import { JOB_RESTART_KEYS } from '../config/schema-jobs.js';

export interface ConfigChanges {
  uplinks: { added: string[]; removed: string[]; changed: { name: string; keys: string[] }[] };
  /**
   * `start`: new (runs once its `when` holds); `stop`: removed while running (`remove`: while
   * not); `restart`: running, and its command, env, user, group or cwd changed (`change`: else).
   */
  jobs: { name: string; action: 'start' | 'stop' | 'restart' | 'remove' | 'change' }[];
}

function diffNames<T>(cur: Record<string, T>, next: Record<string, T>) {
  const added = Object.keys(next).filter((n) => !Object.hasOwn(cur, n));
  const removed = Object.keys(cur).filter((n) => !Object.hasOwn(next, n));
  const changed = Object.keys(next).filter((n) => Object.hasOwn(cur, n) && !isDeepStrictEqual(cur[n], next[n]));
  return { added, removed, changed };
}

/** The top-level keys of two objects that differ. */
function changedKeys(a: object, b: object): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter(
    (k) => !isDeepStrictEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

export function configChanges(cur: Config, next: Config, running: ReadonlyMap<string, boolean>): ConfigChanges {
  const u = diffNames(cur.uplinks, next.uplinks);
  const j = diffNames(cur.jobs, next.jobs);
  return {
    uplinks: {
      added: u.added,
      removed: u.removed,
      changed: u.changed.map((name) => ({ name, keys: changedKeys(cur.uplinks[name]!, next.uplinks[name]!) })),
    },
    jobs: [
      ...j.added.map((name) => ({ name, action: 'start' as const })),
      ...j.removed.map((name) => ({ name, action: running.get(name) ? ('stop' as const) : ('remove' as const) })),
      ...j.changed.map((name) => {
        const restarts = JOB_RESTART_KEYS.some((k) => !isDeepStrictEqual(cur.jobs[name]![k], next.jobs[name]![k]));
        return { name, action: restarts && running.get(name) ? ('restart' as const) : ('change' as const) };
      }),
    ],
  };
}
