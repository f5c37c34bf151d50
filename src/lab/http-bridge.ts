/**
 * Reaches an HTTP server that listens on a namespace's loopback (the daemon's API in the
 * gateway namespace) from the host's loopback: a relay inside the namespace listens on a unix
 * socket (the file system is shared between network namespaces) and connects to
 * 127.0.0.1:PORT there; on the host, 127.0.0.1:(random) forwards to that socket. The daemon
 * sees a loopback peer, as it would for `ssh -L` from the admin's laptop.
 */
import { existsSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { type Lab, type Ns, waitFor } from './harness.js';

const RELAY = `
const net = require('node:net');
const [path, port] = process.argv.slice(1);
net.createServer((c) => {
  const t = net.connect({ host: '127.0.0.1', port: Number(port) });
  c.pipe(t); t.pipe(c);
  c.on('error', () => t.destroy()); t.on('error', () => c.destroy());
}).listen(path);
`;

export interface HttpBridge {
  /** http://127.0.0.1:PORT on the host. */
  url: string;
  port: number;
  close(): Promise<void>;
}

function pipeTo(path: string): (c: Socket) => void {
  return (c) => {
    const t = createConnection(path);
    c.pipe(t);
    t.pipe(c);
    for (const [a, b] of [
      [c, t],
      [t, c],
    ] as const) {
      // Only on errors: pipe() ends the other side after it has flushed what it carries.
      a.on('error', () => b.destroy());
    }
  };
}

export async function httpBridge(lab: Lab, ns: Ns, port = 8377): Promise<HttpBridge> {
  const path = `${lab.tempFile('http-relay', '')}.sock`;
  ns.spawn(process.execPath, ['-e', RELAY, path, String(port)]);
  await waitFor(async () => existsSync(path), { timeoutMs: 5000, what: `the HTTP relay in ${ns.name}` });
  const server: Server = createServer(pipeTo(path));
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const p = (server.address() as { port: number }).port;
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  lab.onTeardown(close);
  return { url: `http://127.0.0.1:${p}`, port: p, close };
}
