/**
 * HTTP access rules (pure, table-driven): 401 without a credential and 403 with a wrong one
 * come before any other refusal; reads from loopback need none; the Host must name the server
 * (DNS rebinding); a cookie session needs a matching Origin on POST.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  authorize,
  hostAllowed,
  isLoopback,
  sameSecret,
  SESSION_COOKIE,
  type AuthInput,
} from '../../src/control/http/auth.js';

const TOKEN = 'tok-0123456789abcdef';
const SESSION = 'sess-abcdef0123456789';
const base: AuthInput = {
  method: 'GET',
  headers: { host: '127.0.0.1:8377' },
  loopbackPeer: true,
  token: TOKEN,
  sessions: new Set([SESSION]),
  listen: { host: '127.0.0.1', port: 8377 },
};

test('http auth: who may do what (table)', () => {
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  const cookie = (s: string) => ({ cookie: `a=b; ${SESSION_COOKIE}=${s}` });
  const cases: [string, Partial<AuthInput>, number | string][] = [
    ['loopback read', {}, 'loopback'],
    ['remote read without token', { loopbackPeer: false }, 401],
    ['remote read with token', { loopbackPeer: false, headers: { ...base.headers, ...bearer(TOKEN) } }, 'token'],
    ['POST without token', { method: 'POST' }, 401],
    ['POST with a wrong token', { method: 'POST', headers: { ...base.headers, ...bearer('nope') } }, 403],
    ['POST with the token', { method: 'POST', headers: { ...base.headers, ...bearer(TOKEN) } }, 'token'],
    ['loopback read with a wrong token', { headers: { ...base.headers, ...bearer('nope') } }, 403],
    // The token is checked before the Host: a refusal never tells an attacker more.
    ['POST, no token, foreign Host', { method: 'POST', headers: { host: 'evil.example:8377' } }, 401],
    ['read with a foreign Host (rebinding)', { headers: { host: 'evil.example:8377' } }, 421],
    ['read with localhost', { headers: { host: 'localhost:8377' } }, 'loopback'],
    ['read through a tunnel on another port', { headers: { host: '127.0.0.1:9000' } }, 'loopback'],
    ['read without Host', { headers: {} }, 421],
    [
      'POST with session and matching Origin',
      { method: 'POST', headers: { ...base.headers, ...cookie(SESSION), origin: 'http://127.0.0.1:8377' } },
      'session',
    ],
    ['POST with session, no Origin', { method: 'POST', headers: { ...base.headers, ...cookie(SESSION) } }, 403],
    [
      'POST with session, foreign Origin',
      { method: 'POST', headers: { ...base.headers, ...cookie(SESSION), origin: 'http://evil.example' } },
      403,
    ],
    ['POST with an expired session', { method: 'POST', headers: { ...base.headers, ...cookie('old') } }, 403],
  ];
  for (const [what, over, want] of cases) {
    const v = authorize({ ...base, ...over });
    assert.equal(v.ok ? v.via : v.status, want, what);
  }
});

test('http auth: Host names, loopback peers, secret comparison', () => {
  const wild = { host: '0.0.0.0', port: 8377 };
  assert.equal(hostAllowed('192.0.2.1:8377', wild), true, 'a wildcard listener takes IP literals');
  assert.equal(hostAllowed('gw.example:8377', wild), false, 'but no names');
  assert.equal(hostAllowed('[::1]:8377', { host: '::1', port: 8377 }), true);
  assert.equal(hostAllowed('localhost:8377', { host: '192.0.2.1', port: 8377 }), false);
  assert.equal(
    hostAllowed('127.0.0.1:8377', { host: 'localhost', port: 8377 }),
    true,
    'listen: localhost binds 127.0.0.1',
  );
  assert.equal(hostAllowed('localhost:8377', { host: 'localhost', port: 8377 }), true);
  for (const [a, want] of [
    ['127.0.0.1', true],
    ['127.9.9.9', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.1', false],
    [undefined, false],
  ] as const)
    assert.equal(isLoopback(a), want, String(a));
  assert.equal(sameSecret(TOKEN, TOKEN), true);
  assert.equal(sameSecret(TOKEN, `${TOKEN}x`), false);
  assert.equal(sameSecret(TOKEN, ''), false);
});
