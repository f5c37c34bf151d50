/** Small HTTP helpers for the lab's API tests: one request, and an SSE stream read as it comes. */
import { request } from 'node:http';

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json<T = unknown>(): T;
}

export function httpCall(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'GET', headers: o.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    // A server that answers before reading the whole body (401, 413) may reset the rest.
    req.on('error', () => undefined);
    req.end(o.body);
  });
}

export interface SseEvent {
  id?: string;
  data?: string;
  retry?: number;
  comment?: string;
}

export interface SseStream {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  events: SseEvent[];
  close(): void;
}

/** Opens an event stream; resolves once the headers are in. */
export function sseOpen(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const events: SseEvent[] = [];
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let i = buf.indexOf('\n\n');
        while (i >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const e: SseEvent = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) e.comment = line.slice(1).trim();
            else if (line.startsWith('id: ')) e.id = line.slice(4);
            else if (line.startsWith('data: ')) e.data = (e.data ? `${e.data}\n` : '') + line.slice(6);
            else if (line.startsWith('retry: ')) e.retry = Number(line.slice(7));
          }
          events.push(e);
          i = buf.indexOf('\n\n');
        }
      });
      res.on('error', () => undefined);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, events, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}
