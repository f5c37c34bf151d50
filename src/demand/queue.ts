/**
 * Hold-and-replay queue of a demand uplink: packets that arrived on the proxy while the
 * link was being dialed. Bounded in bytes and in age; when full, the OLDEST packets go
 * first (a new TCP SYN or DNS query is worth more than a stale one) and every drop is
 * counted. Pure: time comes in as arguments.
 */
export interface QueueLimits {
  maxBytes: number;
  maxAgeMs: number;
}

export interface QueueCounters {
  /** Packets and bytes held now. */
  packets: number;
  bytes: number;
  /** Since start: packets held, replayed, dropped because the queue was full, dropped because too old. */
  queued: number;
  replayed: number;
  droppedFull: number;
  droppedAge: number;
}

export class HoldQueue {
  private items: { at: number; pkt: Buffer }[] = [];
  private head = 0;
  private c: QueueCounters = { packets: 0, bytes: 0, queued: 0, replayed: 0, droppedFull: 0, droppedAge: 0 };

  constructor(private limits: QueueLimits) {}

  setLimits(l: QueueLimits): void {
    this.limits = l;
  }

  push(pkt: Buffer, now: number): void {
    this.expire(now);
    if (pkt.length > this.limits.maxBytes) {
      this.c.queued++;
      this.c.droppedFull++;
      return;
    }
    while (this.c.bytes + pkt.length > this.limits.maxBytes) this.dropOldest('droppedFull');
    this.items.push({ at: now, pkt });
    this.c.packets++;
    this.c.bytes += pkt.length;
    this.c.queued++;
  }

  /** Everything still fresh, oldest first; the queue is empty afterwards. */
  drain(now: number): Buffer[] {
    this.expire(now);
    const out = this.items.slice(this.head).map((i) => i.pkt);
    this.items = [];
    this.head = 0;
    this.c.packets = 0;
    this.c.bytes = 0;
    this.c.replayed += out.length;
    return out;
  }

  /** Drops packets older than maxAge. */
  expire(now: number): void {
    while (this.head < this.items.length && now - this.items[this.head]!.at > this.limits.maxAgeMs)
      this.dropOldest('droppedAge');
  }

  get size(): number {
    return this.c.packets;
  }

  counters(): QueueCounters {
    return { ...this.c };
  }

  private dropOldest(why: 'droppedFull' | 'droppedAge'): void {
    const it = this.items[this.head++]!;
    this.c.packets--;
    this.c.bytes -= it.pkt.length;
    this.c[why]++;
    // Compact now and then so a long flood does not keep the array growing.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
