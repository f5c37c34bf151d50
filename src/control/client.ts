/** Client side of the control socket, used by the CLI and the tests. */
import { createConnection, type Socket } from 'node:net';
import { UplinkError } from '../errors.js';
import type { Reply } from './rpc.js';

export function notRunning(path: string, cause: string): UplinkError {
  // The daemon may well be running: the socket is root's and 0660, and this user is neither.
  if (cause === 'EACCES' || cause === 'EPERM')
    return new UplinkError(
      'DAEMON_PERMISSION',
      `permission denied on ${path} (${cause})`,
      "the control socket is root's (mode 0660): run uplink as root, e.g. with sudo",
    );
  return new UplinkError(
    'DAEMON_NOT_RUNNING',
    `uplinkd is not running (no answer on ${path}: ${cause})`,
    'start it with `uplinkd --config FILE` (or `systemctl start uplinkd`), or pass --socket PATH',
  );
}

export class ControlClient {
  private sock?: Socket;
  private buf = '';
  private nextId = 1;
  private readonly waiting = new Map<number, (r: Reply) => void>();
  private eventFn?: (e: unknown) => void;
  private closedFn?: () => void;

  constructor(private readonly path: string) {}

  async connect(): Promise<void> {
    const sock = createConnection(this.path);
    this.sock = sock;
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', (e: NodeJS.ErrnoException) => reject(notRunning(this.path, e.code ?? e.message)));
    });
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => this.onData(c));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      for (const fn of this.waiting.values())
        fn({ id: null, ok: false, error: { code: 'DAEMON_NOT_RUNNING', message: 'the daemon closed the connection' } });
      this.waiting.clear();
      this.closedFn?.();
    });
  }

  call(method: string, params?: unknown): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (r) =>
        r.ok ? resolve(r.result) : reject(new UplinkError(r.error.code, r.error.message, r.error.hint)),
      );
      this.sock!.write(`${JSON.stringify({ id, method, params })}\n`);
    });
  }

  onEvent(fn: (e: unknown) => void): void {
    this.eventFn = fn;
  }

  /** Resolves when the daemon closes the connection. */
  closed(): Promise<void> {
    if (!this.sock || this.sock.destroyed) return Promise.resolve();
    return new Promise((r) => (this.closedFn = r));
  }

  close(): void {
    this.sock?.destroy();
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const msg = JSON.parse(line) as Reply | { event: unknown };
      if ('event' in msg) this.eventFn?.(msg.event);
      else if (typeof msg.id === 'number') {
        this.waiting.get(msg.id)?.(msg);
        this.waiting.delete(msg.id);
      }
    }
  }
}

/** How long a call waits for a daemon that is still starting (its socket answers first). */
const STARTING_WAIT_MS = 15_000;

/** One call on a fresh connection; asked again while the daemon answers that it is still starting. */
export async function rpc(path: string, method: string, params?: unknown): Promise<unknown> {
  const until = Date.now() + STARTING_WAIT_MS;
  for (;;) {
    const c = new ControlClient(path);
    await c.connect();
    try {
      return await c.call(method, params);
    } catch (e) {
      if (!(e instanceof UplinkError && e.code === 'DAEMON_STARTING' && Date.now() < until)) throw e;
    } finally {
      c.close();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
