/**
 * Which forward owns which ports of one DNAT map, for the clash check. Scanning the map's
 * entries for every new forward was quadratic (60,000 forwards: 5 s to render). The entries
 * of one map never overlap, so at most 65,535 ports are ever marked; a Fenwick tree over the
 * port space answers "is any port of first..last taken, and the first one by whom" in
 * O(log 65536).
 */
const PORTS = 65536;

export class PortOwners {
  private readonly tree = new Int32Array(PORTS + 1);
  private readonly owner = new Int32Array(PORTS).fill(-1);

  /** Marks first..last (none of them taken) as owned by `who`. */
  take(first: number, last: number, who: number): void {
    for (let p = first; p <= last; p++) {
      this.owner[p] = who;
      for (let i = p + 1; i <= PORTS; i += i & -i) this.tree[i]!++;
    }
  }

  /** The owner of the lowest taken port in first..last, or undefined when all are free. */
  find(first: number, last: number): number | undefined {
    const before = this.count(first - 1);
    if (this.count(last) === before) return undefined;
    // Descend to the smallest p with count(p) > before.
    let pos = 0;
    let rest = before;
    for (let step = PORTS; step > 0; step >>= 1) {
      const next = pos + step;
      if (next <= PORTS && this.tree[next]! <= rest) {
        pos = next;
        rest -= this.tree[next]!;
      }
    }
    return this.owner[pos];
  }

  /** Taken ports in 0..p. */
  private count(p: number): number {
    let n = 0;
    for (let i = p + 1; i > 0; i -= i & -i) n += this.tree[i]!;
    return n;
  }
}
