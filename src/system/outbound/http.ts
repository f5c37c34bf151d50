/**
 * One HTTP request, from a chosen source address: an update about an uplink must leave
 * through that uplink (our `from ADDRESS lookup TABLE` rule routes it there), not through the
 * default route, which on a multi-WAN gateway announces the wrong address.
 */
import http from 'node:http';
import type * as Https from 'node:https';
import { builtin } from '../../lazy.js';
import { UplinkError } from '../../errors.js';

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  localAddress?: string;
  timeoutMs: number;
}

export interface HttpResponse {
  status: number;
  body: string;
}

/** Answers are cut here: a dyndns answer is a line, a webhook's is not read. */
const https = builtin<typeof Https>('node:https');
const MAX_BODY = 64 * 1024;

export function httpRequest(r: HttpRequest): Promise<HttpResponse> {
  const url = new URL(r.url);
  const mod = url.protocol === 'https:' ? https() : http;
  return new Promise((resolve, reject) => {
    // The whole exchange, not only an idle socket: a server trickling bytes must not hold a sender.
    const deadline = setTimeout(() => req.destroy(new Error(`no complete answer in ${r.timeoutMs} ms`)), r.timeoutMs);
    const settle = (fn: () => void) => {
      clearTimeout(deadline);
      fn();
    };
    const req = mod.request(
      url,
      {
        method: r.method,
        headers: {
          'user-agent': 'uplinkd',
          ...r.headers,
          ...(r.body ? { 'content-length': Buffer.byteLength(r.body) } : {}),
        },
        ...(r.localAddress ? { localAddress: r.localAddress } : {}),
        timeout: r.timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
          if (body.length < MAX_BODY) return;
          // Enough: the answer is what we have; the rest is not read.
          settle(() => resolve({ status: res.statusCode ?? 0, body: body.slice(0, MAX_BODY) }));
          req.destroy();
        });
        res.on('end', () => settle(() => resolve({ status: res.statusCode ?? 0, body })));
        res.on('error', (e) => settle(() => reject(failed(url, e))));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${r.timeoutMs} ms`)));
    req.on('error', (e) => settle(() => reject(failed(url, e))));
    req.end(r.body);
  });
}

/** The URL without credentials or query (which may carry a token) for the message. */
function failed(url: URL, e: Error): UplinkError {
  const code = (e as NodeJS.ErrnoException).code;
  return new UplinkError('HTTP_FAILED', `${url.protocol}//${url.host}${url.pathname}: ${code ?? e.message}`);
}
