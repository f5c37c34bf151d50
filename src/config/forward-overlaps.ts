/**
 * Overlapping port forwards, found by a sweep in O(n log n).
 *
 * Comparing every forward with every earlier one was quadratic: 60,000 forwards took half a
 * minute to check. Here each (protocol, uplink) pair is swept once in port order. A forward
 * without `uplink:` applies to every uplink, so it joins every uplink's sweep (plus one for
 * "any uplink", where two such forwards meet).
 */

/** One forward's ports, as far as they could be read. */
export interface ForwardSpan {
  /** Position in the forwards list. */
  index: number;
  proto: string;
  first: number;
  last: number;
  /** The uplinks it is restricted to; undefined = all. */
  uplinks?: readonly string[];
}

/** A min-heap of spans by index: the earliest forward among those still overlapping the sweep. */
class IndexHeap {
  private items: ForwardSpan[] = [];
  get top(): ForwardSpan | undefined {
    return this.items[0];
  }
  push(s: ForwardSpan): void {
    const a = this.items;
    a.push(s);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p]!.index <= a[i]!.index) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): void {
    const a = this.items;
    const last = a.pop()!;
    if (a.length === 0) return;
    a[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && a[l]!.index < a[m]!.index) m = l;
      if (r < a.length && a[r]!.index < a[m]!.index) m = r;
      if (m === i) break;
      [a[m], a[i]] = [a[i]!, a[m]!];
      i = m;
    }
  }
}

/**
 * Sweeps spans of one (protocol, uplink) in port order. Every span still "active" (its last
 * port ≥ the current first port) overlaps the one entering, so: the entering span conflicts
 * when the earliest active span comes before it in the list. At most one active span has no
 * earlier conflict yet (two such would overlap each other), kept as `lone`: it conflicts when
 * a span from earlier in the list enters.
 */
function sweep(spans: ForwardSpan[], found: Map<number, number>): void {
  spans.sort((a, b) => a.first - b.first || a.index - b.index);
  const active = new IndexHeap();
  const report = (late: ForwardSpan, early: ForwardSpan) => {
    const had = found.get(late.index);
    if (had === undefined || early.index < had) found.set(late.index, early.index);
  };
  let lone: ForwardSpan | undefined;
  for (const b of spans) {
    // An expired span stays expired: the sweep only moves up.
    while (active.top && active.top.last < b.first) active.pop();
    const earliest = active.top;
    let conflicted = false;
    if (earliest && earliest.index < b.index) {
      report(b, earliest);
      conflicted = true;
    }
    if (lone && lone.last >= b.first && lone.index > b.index) {
      report(lone, b);
      lone = undefined;
    }
    if (!conflicted) lone = b;
    active.push(b);
  }
}

/**
 * For every forward that overlaps an earlier one on a shared uplink: its index → the index of
 * one such earlier forward (the earliest the sweeps met). Two forwards conflict when their protocol is the same, their
 * port ranges overlap and their uplinks intersect (no `uplink:` = all uplinks).
 */
export function forwardOverlaps(spans: readonly ForwardSpan[]): Map<number, number> {
  const named = new Set<string>();
  for (const s of spans) for (const u of s.uplinks ?? []) named.add(u);
  const groups = new Map<string, ForwardSpan[]>();
  const join = (key: string, s: ForwardSpan) => {
    const g = groups.get(key);
    if (g) g.push(s);
    else groups.set(key, [s]);
  };
  for (const s of spans) {
    // \u0000 cannot be in an uplink name: the "any uplink" sweep.
    const keys = s.uplinks ? new Set(s.uplinks) : [...named, '\u0000'];
    for (const u of keys) join(`${s.proto}\u0000${u}`, s);
  }
  const found = new Map<number, number>();
  for (const g of groups.values()) sweep(g, found);
  return found;
}
