/**
 * The control socket: a unix socket (mode 0660) speaking newline-delimited
 * JSON-RPC. A client can never crash the daemon nor grow it without bound: oversized
 * lines, bad JSON and handler errors become coded replies or a closed connection; each
 * connection's memory is bounded (connection.ts); at most MAX_CLIENTS are open, the
 * longest-idle one making room for a new client; silent ones are closed.
 */
import type { Socket } from 'node:net';
import type { Component } from '../model/component.js';
import type { Listener, System } from '../system/system.js';
import type { MethodTable } from './rpc.js';
import { Connection, LIMITS } from './connection.js';

export interface ServerLimits {
  maxClients: number;
  connection: typeof LIMITS;
}

export const SERVER_LIMITS: ServerLimits = { maxClients: 64, connection: LIMITS };

export class ControlServer implements Component {
  readonly name = 'control socket';
  private listener?: Listener;
  private readonly clients = new Map<Socket, Connection>();
  private sweep?: NodeJS.Timeout;

  constructor(
    private readonly system: Pick<System, 'listen'>,
    private readonly path: string,
    private readonly methods: MethodTable,
    private readonly limits = SERVER_LIMITS,
    private readonly redact?: (line: string) => string,
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
    for (const c of this.clients.keys()) c.destroy();
    this.clients.clear();
    this.updateSweep();
  }

  private onClient(sock: Socket): void {
    if (this.clients.size >= this.limits.maxClients && !this.evictIdlest()) {
      sock.on('error', () => undefined);
      const error = {
        code: 'RPC_BUSY',
        message: `too many control connections (${this.limits.maxClients}), all busy`,
        hint: 'close idle `uplink monitor` sessions, or try again',
      };
      sock.end(`${JSON.stringify({ id: null, ok: false, error })}\n`);
      return;
    }
    const conn = new Connection(sock, this.methods, this.limits.connection, this.redact);
    this.clients.set(sock, conn);
    conn.start(() => {
      this.clients.delete(sock);
      this.updateSweep();
    });
    this.updateSweep();
  }

  /** Closes the connection idle the longest (nothing in flight, no stream); false if none is. */
  private evictIdlest(): boolean {
    let worst: Connection | undefined;
    for (const c of this.clients.values()) if (c.idleFor >= 0 && (!worst || c.idleFor > worst.idleFor)) worst = c;
    if (!worst) return false;
    worst.sock.destroy();
    this.clients.delete(worst.sock);
    return true;
  }

  /** One timer for all clients, only while there are any: an idle daemon arms none. */
  private updateSweep(): void {
    if (this.clients.size === 0) {
      clearInterval(this.sweep);
      this.sweep = undefined;
    } else
      this.sweep ??= setInterval(
        () => {
          const now = Date.now();
          for (const c of [...this.clients.values()]) c.checkIdle(now);
        },
        Math.max(10, this.limits.connection.idleMs / 4),
      ).unref();
  }
}
