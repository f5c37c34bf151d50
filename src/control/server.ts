/**
 * The control socket: a unix socket (mode 0660) speaking newline-delimited
 * JSON-RPC. A client can never crash the daemon: oversized lines, bad JSON and
 * handler errors all become coded replies or a closed connection.
 */
import { chmod, mkdir, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { dispatch, type MethodTable } from './rpc.js';

const MAX_LINE = 1 << 20;

export class ControlServer {
  private server?: Server;
  private readonly clients = new Set<Socket>();

  constructor(private readonly path: string, private readonly methods: MethodTable, private readonly log: Logger) {}

  async start(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o755 });
    // The single-instance lock is held by now, so a socket file left here is stale.
    await unlink(this.path).catch(() => undefined);
    const server = createServer((s) => this.onClient(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => resolve());
    });
    server.on('error', (e) => this.log.error({ err: e }, 'control socket error'));
    await chmod(this.path, 0o660);
  }

  /**
   * Stops accepting and removes the socket file. Existing clients stay until
   * closeClients(): close() completes only once they are gone, so do not await it
   * here (a waiting `uplink quit` would deadlock the shutdown).
   */
  async stop(): Promise<void> {
    this.server?.close();
    this.server = undefined;
    await unlink(this.path).catch(() => undefined);
  }

  closeClients(): void {
    for (const c of this.clients) c.destroy();
    this.clients.clear();
  }

  private onClient(sock: Socket): void {
    this.clients.add(sock);
    const closers: (() => void)[] = [];
    sock.on('close', () => {
      this.clients.delete(sock);
      for (const fn of closers) fn();
    });
    sock.on('error', () => undefined);
    let buf = '';
    const ctx = {
      push: (event: unknown) => write(sock, { event }),
      onClose: (fn: () => void) => closers.push(fn),
    };
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_LINE && !buf.includes('\n')) {
        buf = '';
        sock.end(JSON.stringify({ id: null, ok: false, error: { code: 'RPC_BAD_REQUEST', message: 'request line too long' } }) + '\n');
        sock.removeAllListeners('data');
        return;
      }
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) void dispatch(this.methods, line, ctx).then((reply) => write(sock, reply));
      }
    });
  }
}

function write(sock: Socket, obj: unknown): void {
  if (!sock.destroyed && sock.writable) sock.write(JSON.stringify(obj) + '\n');
}
