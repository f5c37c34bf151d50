/**
 * Who may do what over HTTP, as pure functions of the request's headers and its peer. The
 * order is the contract: a mutating call without the token is 401 and with a wrong one 403,
 * before any other 4xx; reads need no token from a loopback peer; the Host header must name
 * the listen address (a DNS-rebinding page names its own host); a cookie session must come
 * with a matching Origin on POST (a cross-site form carries the cookie, never our Origin).
 */
import type * as Crypto from 'node:crypto';
import { builtin } from '../../lazy.js';
import { isIP } from 'node:net';

export const SESSION_COOKIE = 'uplinkd_session';

export interface AuthInput {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  /** The peer is 127.0.0.0/8 or ::1. */
  loopbackPeer: boolean;
  token: string;
  /** Session ids handed out by a login URL that are still valid. */
  sessions: ReadonlySet<string>;
  /** host:port the server listens on. */
  listen: { host: string; port: number };
}

export type AuthVerdict =
  | { ok: true; via: 'token' | 'session' | 'loopback' }
  | { ok: false; status: number; error: string };

const crypto = builtin<typeof Crypto>('node:crypto');

/** Compares secrets in time independent of where they differ (and of their lengths). */
export function sameSecret(a: string, b: string): boolean {
  const c = crypto();
  const h = (s: string) => c.createHash('sha256').update(s).digest();
  return c.timingSafeEqual(h(a), h(b)) && a.length === b.length;
}

export function newSecret(): string {
  return crypto().randomBytes(32).toString('base64url');
}

const header = (h: AuthInput['headers'], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

function bearer(h: AuthInput['headers']): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header(h, 'authorization') ?? '');
  return m?.[1];
}

export function cookieValue(h: AuthInput['headers'], name: string): string | undefined {
  for (const part of (header(h, 'cookie') ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || (isIP(a) === 4 && a.startsWith('127.'));
}

/**
 * The Host names the server: its listen address, or for a loopback listener `localhost`; a
 * wildcard listener accepts any IP literal (a rebinding attack needs a host name). The port is
 * not compared: `ssh -L 9000:127.0.0.1:8377` and `uplink demo`'s proxy reach us under another
 * one, and a rebinding page cannot choose the host name it is served under.
 */
export function hostAllowed(hostHeader: string | undefined, listen: AuthInput['listen']): boolean {
  if (!hostHeader) return false;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostHeader.trim().toLowerCase());
  if (!m) return false;
  const host = m[1]!.replace(/^\[|\]$/g, '');
  const wildcard = listen.host === '0.0.0.0' || listen.host === '::';
  if (wildcard) return isIP(host) !== 0 || host === 'localhost';
  if (host === listen.host.toLowerCase()) return true;
  // `listen: localhost:PORT` binds 127.0.0.1: both names are its own.
  const loopbackListen = isLoopback(listen.host) || listen.host.toLowerCase() === 'localhost';
  return loopbackListen && (host === 'localhost' || isLoopback(host));
}

const mutating = (method: string) => method !== 'GET' && method !== 'HEAD';

export function authorize(i: AuthInput): AuthVerdict {
  const given = bearer(i.headers);
  const session = cookieValue(i.headers, SESSION_COOKIE);
  const sessionOk = session !== undefined && [...i.sessions].some((s) => sameSecret(s, session));
  const needsCredential = mutating(i.method) || !i.loopbackPeer;
  if (needsCredential) {
    if (given === undefined && !sessionOk) {
      if (session !== undefined)
        return { ok: false, status: 403, error: 'the session is not valid (expired?): log in again' };
      return { ok: false, status: 401, error: 'this needs the API token (Authorization: Bearer TOKEN)' };
    }
  }
  // A wrong token is refused even where none is needed: a scraper with a bad credentials file
  // must not look fine from the gateway itself and fail only from afar.
  if (given !== undefined && !sameSecret(given, i.token)) return { ok: false, status: 403, error: 'wrong API token' };
  if (!hostAllowed(header(i.headers, 'host'), i.listen))
    return { ok: false, status: 421, error: 'the Host header does not name this server' };
  const via = given !== undefined ? 'token' : sessionOk ? 'session' : 'loopback';
  if (via === 'session' && mutating(i.method)) {
    const origin = header(i.headers, 'origin');
    const host = header(i.headers, 'host');
    if (!origin || origin !== `http://${host}`)
      return { ok: false, status: 403, error: 'a cookie session must send a matching Origin' };
  }
  return { ok: true, via };
}
