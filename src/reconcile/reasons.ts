/** Why the loop runs: the reasons it was marked dirty since the last run, repeats counted, bounded. */
export class Reasons {
  private readonly seen = new Map<string, number>();
  private dropped = 0;

  constructor(private readonly max = 20) {}

  add(reason: string): void {
    const n = this.seen.get(reason);
    if (n !== undefined) this.seen.set(reason, n + 1);
    else if (this.seen.size < this.max) this.seen.set(reason, 1);
    else this.dropped++;
  }

  /** The reasons so far ("probe round of wan1 (x3)"), and a fresh start. */
  take(): string[] {
    const out = [...this.seen].map(([r, n]) => (n > 1 ? `${r} (x${n})` : r));
    if (this.dropped) out.push(`${this.dropped} more`);
    this.seen.clear();
    this.dropped = 0;
    return out;
  }
}
