/**
 * Pure uplink selection: which usable uplink carries the default route, and the
 * order of the next candidates (the kernel falls through them by metric when a
 * carrier goes). Leaving an unusable uplink is immediate; moving from a usable
 * uplink to a better one waits until that one has been usable for its failback
 * delay, so a recovering link cannot pull traffic back and forth.
 */
export interface Candidate {
  name: string;
  mode: 'always' | 'backup' | 'demand' | 'manual';
  priority: number;
  usable: boolean;
  /** Up (not degraded): ranks before degraded uplinks. */
  healthy: boolean;
  /** Since when it has been continuously usable and healthy (ms). */
  goodSince?: number;
  failbackDelayMs: number;
}

export interface SelectInput {
  /** In config order (the last tie-breaker). */
  candidates: Candidate[];
  forced?: string;
  current?: string;
  now: number;
}

export interface Selection {
  /** Uplinks in the selection table, best first; the first carries traffic. */
  order: string[];
  selected?: string;
  reason: string;
  /** Usable uplinks by rank alone (no force, no failback delay): routed prefixes pick from these. */
  ranked: string[];
}

const MODE_RANK = { always: 0, backup: 1, demand: 2, manual: 3 } as const;

function rank(c: Candidate, i: number): number[] {
  return [c.healthy ? 0 : 1, MODE_RANK[c.mode], c.priority, i];
}

function better(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

export function selectUplinks(input: SelectInput): Selection {
  const { candidates, forced, current, now } = input;
  const ranked = candidates
    .map((c, i) => ({ c, r: rank(c, i) }))
    // Manual uplinks carry traffic only when forced.
    .filter(({ c }) => c.usable && c.mode !== 'manual')
    .sort((a, b) => (better(a.r, b.r) ? -1 : better(b.r, a.r) ? 1 : 0));
  const names = ranked.map(({ c }) => c.name);
  if (forced) return { order: [forced], selected: forced, reason: `forced to ${forced} by the admin`, ranked: names };
  if (!ranked.length) return { order: [], reason: 'no usable uplink', ranked: names };
  const best = ranked[0];
  const cur = ranked.find(({ c }) => c.name === current);
  if (!cur) {
    const why = current ? `${current} is not usable` : 'start';
    return {
      order: names,
      selected: best.c.name,
      reason: `${why}: ${best.c.name} is the best usable uplink`,
      ranked: names,
    };
  }
  if (best === cur)
    return { order: names, selected: cur.c.name, reason: `${cur.c.name} is the best usable uplink`, ranked: names };
  // Better uplinks than the current one: move to the best of them that has been
  // good for its failback delay (the very best may still be proving itself).
  const ahead = ranked.slice(0, ranked.indexOf(cur));
  const ready = ahead.find(({ c }) => c.goodSince !== undefined && now - c.goodSince >= c.failbackDelayMs);
  const chosen = ready ?? cur;
  const order = [chosen.c.name, ...ranked.filter((x) => x !== chosen).map(({ c }) => c.name)];
  const reason = ready
    ? `${ready.c.name} is better than ${cur.c.name} and has been good for ${Math.round((now - ready.c.goodSince!) / 1000)}s`
    : best.c.goodSince === undefined
      ? `staying on ${cur.c.name} until ${best.c.name} is judged up`
      : `staying on ${cur.c.name}: ${best.c.name} must be good for ${Math.round(best.c.failbackDelayMs / 1000)}s first`;
  return { order, selected: chosen.c.name, reason, ranked: names };
}
