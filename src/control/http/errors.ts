/** HTTP statuses for the method table's coded errors, and the JSON bodies we answer with. */
import type { ServerResponse } from 'node:http';

/** A refused call is the caller's mistake (4xx) unless the daemon failed (500). */
export function statusForCode(code: string): number {
  if (code === 'RPC_INTERNAL') return 500;
  if (code.startsWith('UNKNOWN_') || code === 'RPC_UNKNOWN_METHOD') return 404;
  if (code === 'RPC_BAD_PARAMS' || code === 'RPC_BAD_REQUEST' || code === 'RPC_BAD_JSON' || code === 'USAGE')
    return 400;
  if (code === 'RPC_BUSY') return 503;
  // The request was fine but the daemon's state refuses it now (no pending apply, a config error).
  return 409;
}

/** Every answer: no caching, no sniffing, no framing, and scripts only from us. */
export function commonHeaders(res: ServerResponse): void {
  res.setHeader('content-security-policy', "default-src 'self'");
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cache-control', 'no-store');
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
  redact: (json: string) => string = (j) => j,
): void {
  const text = redact(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, code: string, message: string, hint?: string): void {
  const extra: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer realm="uplinkd"' } : {};
  // A refused request's body is not read: close the connection rather than parse what follows.
  if (status === 413 || status === 401 || status === 403) extra.connection = 'close';
  sendJson(res, status, { ok: false, error: { code, message, ...(hint ? { hint } : {}) } }, extra);
}
