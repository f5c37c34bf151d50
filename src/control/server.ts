/**
 * The control socket: a unix socket (mode 0660) speaking newline-delimited
 * JSON-RPC. A client can never crash the daemon: oversized lines, bad JSON and
 * handler errors all become coded replies or a closed connection.
 */
import type { Socket } from 'node:net';
import type { Component } from '../model/component.js';
import type { Listener, System } from '../system/system.js';
import { dispatch, type MethodTable } from './rpc.js';

const MAX_LINE = 1 << 20;

export class ControlServer implements Component {
  readonly name = 'control socket';
  private listener?: Listener;
  private readonly clients = new Set<Socket>();

  constructor(
    private readonly system: Pick<System, 'listen'>,
    private readonly path: string,
    private readonly methods: MethodTable,
  ) {}

  async start(): Promise<void> {
    this.listener = await this.system.listen(this.path, (s) => this.onClient(s));
  }

  /** Stops accepting and removes the socket file. Existing clients stay until closeClients(). */
  async stop(): Promise<void> {
    const l = this.listener;
    this.listener = undefined;
    await l?.close();
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
        sock.end(
          `${JSON.stringify({ id: null, ok: false, error: { code: 'RPC_BAD_REQUEST', message: 'request line too long' } })}\n`,
        );
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
  if (!sock.destroyed && sock.writable) sock.write(`${JSON.stringify(obj)}\n`);
}
