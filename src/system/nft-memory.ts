/**
 * An nftables table held in memory, for the fake System and --dry-run: a batch replaces the
 * table (with a new handle, as the kernel gives one) unless it only updates a set, and
 * `list` shows what was applied, so the firewall's tamper check is satisfied.
 */
export class NftMemory {
  /** Batches applied, newest last. */
  readonly batches: unknown[] = [];
  table?: { nftables: Record<string, unknown>[] };

  apply(json: unknown): void {
    const batch = typeof json === 'string' ? (JSON.parse(json) as unknown) : json;
    this.batches.push(batch);
    const items = (batch as { nftables: Record<string, unknown>[] }).nftables;
    // A batch that only updates a set (flush + add element) leaves the table as it is.
    if (!items.some((e) => 'delete' in e || ('add' in e && 'table' in (e.add as object)))) return;
    // What follows the batch's last delete is the new table; it gets a new handle, as in the kernel.
    const lastDelete = items.map((e) => 'delete' in e).lastIndexOf(true);
    const created = items.slice(lastDelete + 1).map((e) => (e.add ?? e) as Record<string, unknown>);
    const withHandle = created.map((e) =>
      'table' in e ? { table: { ...(e.table as object), handle: this.batches.length } } : e,
    );
    this.table = withHandle.length ? { nftables: withHandle } : undefined;
  }
}
