/**
 * Server-Sent Events of the daemon's event bus. Each event's id is `RUN-SEQ` (RUN names this
 * daemon run): a client reconnecting with `Last-Event-ID` gets what it missed from the history;
 * one whose id names an earlier run (the daemon restarted) gets this run's whole history. The
 * headers and a `retry:` go out at once, so a browser knows the stream is live before any event.
 */
import type { ServerResponse } from 'node:http';
import type { DaemonEvent, EventBus } from '../../events/bus.js';

export const SSE_LIMITS = {
  maxClients: 64,
  /** Bytes a slow client may leave unread before it is dropped (it reconnects and resumes). */
  maxBacklog: 1 << 20,
  heartbeatMs: 15_000,
  retryMs: 2_000,
};

export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private unsubscribe?: () => void;
  private heartbeat?: NodeJS.Timeout;
  /** Names this daemon run in event ids. */
  readonly run = Date.now().toString(36);

  constructor(
    private readonly bus: Pick<EventBus, 'subscribe' | 'after'>,
    private readonly limits = SSE_LIMITS,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  id(seq: number): string {
    return `${this.run}-${seq}`;
  }

  /** The seq after which a client resumes; 0 (everything kept) for another run's id, undefined for none. */
  resumeAfter(lastEventId: string | undefined): number | undefined {
    if (lastEventId === undefined || lastEventId.trim() === '') return undefined;
    const m = /^(?:([0-9a-z]+)-)?(\d+)$/.exec(lastEventId.trim());
    if (!m) return 0;
    if (m[1] !== undefined && m[1] !== this.run) return 0;
    return Number(m[2]);
  }

  /** False when full (the caller answers 503). */
  open(res: ServerResponse, lastEventId: string | undefined): boolean {
    if (this.clients.size >= this.limits.maxClients) return false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${this.limits.retryMs}\n\n`);
    const from = this.resumeAfter(lastEventId);
    if (from !== undefined) for (const { seq, e } of this.bus.after(from)) this.send(res, seq, e);
    this.clients.add(res);
    res.once('close', () => this.drop(res));
    this.unsubscribe ??= this.bus.subscribe((e, seq) => {
      for (const c of this.clients) this.send(c, seq, e);
    });
    this.heartbeat ??= setInterval(() => {
      for (const c of this.clients) this.write(c, ': ping\n\n');
    }, this.limits.heartbeatMs).unref();
    return true;
  }

  close(): void {
    for (const c of this.clients) c.destroy();
    this.clients.clear();
    this.idle();
  }

  private send(res: ServerResponse, seq: number, e: DaemonEvent): void {
    this.write(res, `id: ${this.id(seq)}\ndata: ${JSON.stringify(e)}\n\n`);
  }

  private write(res: ServerResponse, text: string): void {
    if (res.writableLength > this.limits.maxBacklog) {
      res.destroy();
      return;
    }
    res.write(text);
  }

  private drop(res: ServerResponse): void {
    this.clients.delete(res);
    if (this.clients.size === 0) this.idle();
  }

  /** No client: no subscription and no timer (an idle daemon arms none). */
  private idle(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
