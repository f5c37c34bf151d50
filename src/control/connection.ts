/**
 * One control-socket client, with bounded memory. A client that pipelines requests without
 * reading the replies once grew the daemon by a gigabyte in 15 s: requests are now taken one
 * line at a time, at most LIMITS.maxInflight at once, and none while LIMITS.maxOut bytes of
 * replies wait unread; reading from the socket pauses meanwhile, so the kernel's buffer pushes
 * back on the client. A stream (monitor) whose reader falls maxOut behind is dropped: events
 * are not worth a daemon's memory. A connection that makes no progress for idleMs is closed.
 */
import type { Socket } from 'node:net';
import { dispatch, type MethodTable, type RpcContext } from './rpc.js';

export const LIMITS = {
  /** A request line longer than this is refused and the connection closed. */
  maxLine: 1 << 20,
  /** Reply bytes waiting unread before the connection stops taking requests (or a stream is dropped). */
  maxOut: 1 << 20,
  /** Requests of one connection being handled at once. */
  maxInflight: 8,
  /** A connection with nothing in flight that neither sends nor reads for this long is closed. */
  idleMs: 30_000,
};

export class Connection {
  private buf = '';
  private inflight = 0;
  private streaming = false;
  private lastProgress = Date.now();
  private readonly closers: (() => void)[] = [];

  constructor(
    readonly sock: Socket,
    private readonly methods: MethodTable,
    private readonly limits = LIMITS,
    /** Every reply and event line passes it (secret values, model/redact.ts). */
    private readonly redact: (line: string) => string = (l) => l,
  ) {}

  /** Idle and evictable: nothing in flight, no stream, nothing unread. */
  get idleFor(): number {
    return this.inflight > 0 || this.streaming || this.sock.writableLength > 0 ? -1 : Date.now() - this.lastProgress;
  }

  start(onClose: () => void): void {
    const s = this.sock;
    s.on('close', () => {
      onClose();
      for (const fn of this.closers) fn();
    });
    s.on('error', () => undefined);
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => this.onData(chunk));
    s.on('drain', () => this.progress());
  }

  private progress(): void {
    this.lastProgress = Date.now();
    this.pump();
  }

  /** Closes the connection if it made no progress for idleMs (the server sweeps its clients). */
  checkIdle(now: number): void {
    if (this.inflight > 0) return;
    // A stream is idle only while its reader is not reading what waits for it.
    if (this.streaming && this.sock.writableLength === 0) return;
    if (now - this.lastProgress >= this.limits.idleMs) this.sock.destroy();
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    this.lastProgress = Date.now();
    this.pump();
  }

  private tooLong(): void {
    this.buf = '';
    this.sock.removeAllListeners('data');
    this.sock.end(
      `${JSON.stringify({ id: null, ok: false, error: { code: 'RPC_BAD_REQUEST', message: 'request line too long' } })}\n`,
    );
  }

  /** Takes requests while there is room; pauses reading while there is none. */
  private pump(): void {
    while (
      this.inflight < this.limits.maxInflight &&
      this.sock.writableLength < this.limits.maxOut &&
      !this.sock.destroyed
    ) {
      const nl = this.buf.indexOf('\n');
      if (nl < 0) {
        // Only the unfinished last line is left: past the limit it never becomes a request.
        if (this.buf.length > this.limits.maxLine) return this.tooLong();
        break;
      }
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line) this.handle(line);
    }
    // Unread requests beyond one line's worth wait in the kernel, not here.
    if (this.buf.indexOf('\n') >= 0 || this.buf.length > this.limits.maxLine) this.sock.pause();
    else this.sock.resume();
  }

  private handle(line: string): void {
    this.inflight++;
    const ctx: RpcContext = {
      push: (event) => this.push(event),
      onClose: (fn) => {
        // A client gone before the handler got here (killed mid-request) must still be seen.
        if (this.sock.destroyed) return void queueMicrotask(fn);
        this.streaming = true;
        this.closers.push(fn);
      },
    };
    void dispatch(this.methods, line, ctx).then((reply) => {
      this.inflight--;
      this.write(reply);
      this.pump();
    });
  }

  private push(event: unknown): void {
    if (this.sock.writableLength >= this.limits.maxOut) {
      this.sock.destroy();
      return;
    }
    this.write({ event });
  }

  private write(obj: unknown): void {
    const s = this.sock;
    if (!s.destroyed && s.writable) s.write(`${this.redact(JSON.stringify(obj))}\n`);
  }
}
