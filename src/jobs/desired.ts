/**
 * Which jobs should run now, and with what (pure): each job's condition evaluated on a
 * snapshot of the uplinks, the selection, the jobs and the interfaces' addresses; the
 * restart_on values; the environment a new instance gets.
 */
import { parseCondition, parseValueRef, type Cond } from '../config/condition.js';
import type { Config } from '../config/schema.js';
import type { LinkFacts } from '../uplinks/facts.js';
import { linkName, type WorldState } from '../world/state.js';
import { evaluate, stateValue, type CondState } from './condition-eval.js';

export interface JobWant {
  run: boolean;
  /** Which part of the condition decided (status: why it runs or waits). */
  why: string;
  /** The restart_on values now. */
  values: Record<string, string>;
  /** The environment a new instance gets (the selected uplink's UPLINK, IFACE, ADDRESS, GATEWAY). */
  env: Record<string, string>;
}

/** What the jobs need to know of each uplink (the manager's verdicts). */
export interface JobView {
  selected?: string;
  uplinks: ReadonlyMap<string, { iface: string; facts: LinkFacts; state: string; usable: boolean }>;
  /** Jobs running now. */
  jobsRunning?: ReadonlyMap<string, boolean>;
}

export function condState(cfg: Config, world: WorldState, v: JobView): CondState {
  const uplinks = new Map(
    Object.keys(cfg.uplinks).map((name) => {
      const u = v.uplinks.get(name);
      return [
        name,
        { up: u?.usable ?? false, state: u?.state ?? 'down', ...(u?.facts.v4 ? { address: u.facts.v4.address } : {}) },
      ];
    }),
  );
  const byIface = new Map<string, string[]>();
  for (const a of world.addrs.values()) {
    const name = linkName(world, a.index);
    if (name) (byIface.get(name) ?? byIface.set(name, []).get(name)!).push(a.address);
  }
  return {
    ...(v.selected ? { selected: v.selected } : {}),
    uplinks,
    jobs: v.jobsRunning ?? new Map(),
    addresses: (iface) => byIface.get(iface) ?? [],
  };
}

/** The environment of a new instance: the selected uplink at its start. */
function jobEnv(cfg: Config, v: JobView): Record<string, string> {
  const name = v.selected;
  const u = name ? v.uplinks.get(name) : undefined;
  if (!name || !u) return {};
  const f = u.facts.v4 ?? u.facts.v6;
  return {
    UPLINK: name,
    IFACE: cfg.uplinks[name]?.interface ?? u.iface,
    ...(f?.address ? { ADDRESS: f.address } : {}),
    ...(f?.gateway ? { GATEWAY: f.gateway } : {}),
  };
}

/** Conditions by text, parsed once: desired() runs on every reconcile pass. */
const parsed = new Map<string, Cond>();
function condition(text: string): Cond {
  let c = parsed.get(text);
  if (!c) {
    if (parsed.size > 1000) parsed.clear(); // reloads with ever new texts must not grow it
    c = parseCondition(text);
    parsed.set(text, c);
  }
  return c;
}

export function desiredJobs(cfg: Config, world: WorldState, v: JobView): Map<string, JobWant> {
  const state = condState(cfg, world, v);
  const env = jobEnv(cfg, v);
  const out = new Map<string, JobWant>();
  for (const [name, job] of Object.entries(cfg.jobs)) {
    const verdict = job.when ? evaluate(condition(job.when), state) : { ok: true, why: 'no condition: always' };
    const values = Object.fromEntries(
      job.restart_on.flatMap((key) => {
        const ref = parseValueRef(key);
        return ref ? [[key, stateValue(ref, state)]] : [];
      }),
    );
    out.set(name, { run: verdict.ok, why: verdict.why, values, env });
  }
  return out;
}
