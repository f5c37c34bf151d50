/**
 * The HTTP API's listening socket. Node's own limits do the first line of defence: headers are
 * capped in size, a client that never finishes its headers (a half-open or slowloris
 * connection) is closed after HEADERS_TIMEOUT_MS, and idle keep-alive sockets are closed
 * quickly, so a thousand of them cost the daemon file descriptors for seconds, not forever.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';

export const HTTP_LIMITS = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveMs: 5_000,
  /** How often Node sweeps for requests past those timeouts. */
  checkEveryMs: 1_000,
  maxConnections: 4096,
};

export interface HttpListener {
  readonly port: number;
  close(): Promise<void>;
}

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

export async function listenHttp(host: string, port: number, handler: HttpHandler, log: Logger): Promise<HttpListener> {
  const server = createServer(
    {
      maxHeaderSize: HTTP_LIMITS.maxHeaderBytes,
      headersTimeout: HTTP_LIMITS.headersTimeoutMs,
      requestTimeout: HTTP_LIMITS.requestTimeoutMs,
      keepAliveTimeout: HTTP_LIMITS.keepAliveMs,
      connectionsCheckingInterval: HTTP_LIMITS.checkEveryMs,
    },
    handler,
  );
  server.maxConnections = HTTP_LIMITS.maxConnections;
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  // A malformed request (oversized headers, garbage) gets its 4xx from Node and the socket closes.
  server.on('clientError', (err: NodeJS.ErrnoException, sock) => {
    if (!sock.writable) {
      sock.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    sock.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: host === 'localhost' ? '127.0.0.1' : host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => log.error({ err: e }, 'HTTP server error'));
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : port,
    async close() {
      const done = new Promise<void>((r) => server.close(() => r()));
      // SSE streams and keep-alive sockets would hold close() open.
      for (const s of sockets) s.destroy();
      await done;
    },
  };
}
