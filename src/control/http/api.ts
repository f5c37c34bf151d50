/**
 * The HTTP API, SSE, /metrics and the dashboard: one more door to the same method table as the
 * control socket (`call`), never a second implementation of an action. Access rules are in
 * auth.ts and are checked before anything else answers; the listener's own limits (headers,
 * timeouts, connections) are in system/http-listen.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import { parseHostPort } from '../../config/net.js';
import type { EventBus } from '../../events/bus.js';
import type { Component } from '../../model/component.js';
import type { HttpListener, System } from '../../system/system.js';
import { call, type MethodTable, type RpcContext } from '../rpc.js';
import { SESSION_COOKIE, authorize, isLoopback, newSecret } from './auth.js';
import { commonHeaders, sendError, sendJson, statusForCode } from './errors.js';
import type { Metrics } from './metrics.js';
import type { SampleRing } from './samples.js';
import { Sessions } from './sessions.js';
import { SseHub } from './sse.js';
import { WebAssets } from './static.js';

export const MAX_BODY_BYTES = 64 * 1024;
const UPLINK_ACTIONS = new Set(['up', 'down', 'force', 'block', 'unblock']);
const DAEMON_ACTIONS = new Set(['unforce', 'reload', 'confirm', 'rollback']);
const JOB_ACTIONS = new Set(['start', 'stop', 'restart']);
const NO_CTX: RpcContext = { push: () => undefined, onClose: () => undefined };

export interface HttpApiDeps {
  system: Pick<System, 'listenHttp' | 'store'>;
  config: () => Config;
  methods: MethodTable;
  bus: EventBus;
  log: Logger;
  metrics: Metrics;
  samples: SampleRing;
  /** Masks secret values in a JSON reply, as the control socket does for every line. */
  redact: (json: string) => string;
}

function parseUrl(raw: string | undefined): URL {
  try {
    return new URL(raw ?? '/', 'http://uplinkd');
  } catch {
    return new URL('http://uplinkd/\0invalid');
  }
}

function decodedParts(path: string): string[] | undefined {
  try {
    return path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

/**
 * Reads what a refused request still sends, up to DRAIN_MAX_BYTES, so the client reads our
 * answer instead of a reset (a socket closed with unread data sends RST); past that, the
 * connection is closed anyway.
 */
const DRAIN_MAX_BYTES = 1 << 20;
function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded || req.method === 'GET' || req.method === 'HEAD') return Promise.resolve();
  return new Promise((resolve) => {
    let n = 0;
    const done = () => {
      req.removeListener('data', onData);
      resolve();
    };
    const onData = (c: Buffer) => {
      n += c.length;
      if (n > DRAIN_MAX_BYTES) done();
    };
    req.on('data', onData);
    req.once('end', done);
    req.once('error', done);
  });
}

export const tokenFile = (stateDir: string) => `${stateDir}/api-token`;

export class HttpApi implements Component {
  readonly name = 'http api';
  private listener?: HttpListener;
  private listening?: string;
  private token = '';
  private readonly sessions = new Sessions();
  private sse?: SseHub;
  private assets?: WebAssets;
  private unsubscribe?: () => void;

  constructor(private readonly d: HttpApiDeps) {}

  async start(): Promise<void> {
    this.token = await this.loadToken();
    this.sse = new SseHub(this.d.bus);
    this.assets = new WebAssets(this.d.system.store);
    // After a hitless restart the selection predates us: the first failover must still count.
    this.d.metrics.syncSelection();
    this.unsubscribe = this.d.bus.subscribe((e) => this.d.metrics.onEvent(e));
    this.d.samples.start();
    await this.sync();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.d.samples.stop();
    this.sse?.close();
    await this.close();
  }

  /** After a reload: listen where the config says now (or not at all). */
  async sync(): Promise<void> {
    const http = this.d.config().control.http;
    const want = http.enabled ? http.listen : undefined;
    if (want === this.listening) return;
    await this.close();
    if (!want) return;
    const hp = parseHostPort(want)!;
    try {
      this.listener = await this.d.system.listenHttp(hp.host, hp.port, (req, res) => this.handle(req, res));
      this.listening = want;
    } catch (e) {
      // A taken port costs the dashboard, never the gateway: the daemon goes on without it.
      const msg = `HTTP API cannot listen on ${want}: ${(e as Error).message}`;
      this.d.log.error(msg);
      this.d.bus.publish({ type: 'daemon', message: msg });
      return;
    }
    const exposed = hp.host !== 'localhost' && !isLoopback(hp.host);
    if (exposed && !http.exposed)
      this.d.log.warn(
        { listen: want },
        'the HTTP API listens on an address that is not loopback: reads need the token there, but say `control.http.exposed: true` if this is meant',
      );
    this.d.log.info({ listen: want }, 'HTTP API listening');
  }

  /** A one-time login URL for the dashboard (`uplink dashboard`). */
  loginUrl(): { url: string; expiresInS: number } {
    const hp = parseHostPort(this.d.config().control.http.listen)!;
    const host =
      hp.host === '0.0.0.0'
        ? '127.0.0.1'
        : hp.host === '::'
          ? '[::1]'
          : hp.host.includes(':')
            ? `[${hp.host}]`
            : hp.host;
    return { url: `http://${host}:${hp.port}/login?code=${this.sessions.newCode()}`, expiresInS: 300 };
  }

  private async close(): Promise<void> {
    const l = this.listener;
    this.listener = undefined;
    this.listening = undefined;
    await l?.close();
  }

  /** The token in the state dir (mode 0600), made on first start; kept across restarts. */
  private async loadToken(): Promise<string> {
    const path = tokenFile(this.d.config().control.state_dir);
    const have = (await this.d.system.store.read(path))?.trim();
    if (have) return have;
    const token = newSecret();
    await this.d.system.store.write(path, `${token}\n`, 0o600);
    return token;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    commonHeaders(res);
    this.route(req, res).catch((e) => {
      this.d.log.error({ err: e, url: req.url }, 'HTTP handler failed');
      if (!res.headersSent)
        sendError(res, 500, 'RPC_INTERNAL', 'internal error', 'this is a bug; the daemon logged it');
      else res.destroy();
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A request line that is no URL still goes through auth first (401 before 400).
    const url = parseUrl(req.url);
    const method = req.method ?? 'GET';
    const listen = parseHostPort(this.listening ?? this.d.config().control.http.listen)!;
    const loopbackPeer = isLoopback(req.socket.remoteAddress);
    if (method === 'GET' && url.pathname === '/login') return this.login(req, res, url, listen);
    const verdict = authorize({
      method,
      headers: req.headers,
      loopbackPeer,
      token: this.token,
      sessions: this.sessions.ids(),
      listen,
    });
    if (!verdict.ok) {
      await drain(req);
      return sendError(
        res,
        verdict.status,
        verdict.status === 401 ? 'HTTP_UNAUTHORIZED' : 'HTTP_FORBIDDEN',
        verdict.error,
      );
    }
    if (method === 'POST') {
      if (!(await this.readBody(req, res))) return;
      return this.post(url.pathname, res);
    }
    if (method !== 'GET' && method !== 'HEAD')
      return sendError(res, 405, 'HTTP_METHOD', `${method} is not served`, 'GET to read, POST for actions');
    return this.get(url, req, res);
  }

  private async get(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    switch (url.pathname) {
      case '/api/status':
        return this.reply(res, await call(this.d.methods, null, 'status', {}, NO_CTX));
      case '/api/history':
        return sendJson(res, 200, this.history(url));
      case '/api/samples':
        return sendJson(res, 200, this.d.samples.view());
      case '/api/events': {
        const last = req.headers['last-event-id'];
        const from = (Array.isArray(last) ? last[0] : last) ?? url.searchParams.get('lastEventId') ?? undefined;
        if (!this.sse!.open(res, from))
          sendError(res, 503, 'RPC_BUSY', 'too many event streams open', 'close other dashboards or monitors');
        return;
      }
      case '/metrics': {
        const m = await this.d.metrics.text();
        res.writeHead(200, { 'content-type': m.contentType });
        return void res.end(m.body);
      }
      default: {
        const a = await this.assets!.get(url.pathname);
        if (!a)
          return sendError(
            res,
            404,
            'HTTP_NOT_FOUND',
            `nothing at ${url.pathname}`,
            'see `man uplinkd` for the routes',
          );
        res.writeHead(200, { 'content-type': a.type, 'content-length': Buffer.byteLength(a.body) });
        return void res.end(req.method === 'HEAD' ? undefined : a.body);
      }
    }
  }

  /** The history, each event with its SSE id; `?type=` filters, `?after=ID` resumes. */
  private history(url: URL) {
    const type = url.searchParams.get('type');
    const after = this.sse!.resumeAfter(url.searchParams.get('after') ?? undefined) ?? 0;
    return this.d.bus
      .after(after)
      .filter(({ e }) => !type || e.type === type)
      .map(({ seq, e }) => ({ id: this.sse!.id(seq), ...e }));
  }

  private async post(path: string, res: ServerResponse): Promise<void> {
    const parts = decodedParts(path);
    if (!parts) return sendError(res, 400, 'HTTP_BAD_PATH', `${path} is not a valid path`);
    if (parts[0] !== 'api') return sendError(res, 404, 'HTTP_NOT_FOUND', `no action at ${path}`);
    const [, what, name, action] = parts;
    if (parts.length === 2 && what === 'login') return this.tokenLogin(res);
    if (parts.length === 2 && DAEMON_ACTIONS.has(what!))
      return this.reply(res, await call(this.d.methods, null, what!, {}, NO_CTX));
    if (parts.length === 4 && what === 'uplinks' && UPLINK_ACTIONS.has(action!))
      return this.reply(res, await call(this.d.methods, null, action!, { name }, NO_CTX));
    if (parts.length === 4 && what === 'jobs' && JOB_ACTIONS.has(action!))
      return this.reply(res, await call(this.d.methods, null, 'job', { action, name }, NO_CTX));
    return sendError(
      res,
      404,
      'HTTP_NOT_FOUND',
      `no action at ${path}`,
      'POST /api/uplinks/NAME/{up,down,force,block,unblock}, /api/{unforce,reload,confirm,rollback}, /api/jobs/NAME/{start,stop,restart}',
    );
  }

  /** Method results may quote a server's error text, which may echo a secret: redacted. */
  private reply(res: ServerResponse, r: Awaited<ReturnType<typeof call>>): void {
    if (r.ok) return sendJson(res, 200, { ok: true, result: r.result }, {}, this.d.redact);
    sendJson(res, statusForCode(r.error.code), { ok: false, error: r.error }, {}, this.d.redact);
  }

  /** Reads (and drops) a POST body up to MAX_BODY_BYTES; answers 413 past it. */
  private readBody(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const tooBig = () =>
      void drain(req).then(() =>
        sendError(res, 413, 'HTTP_TOO_LARGE', `request bodies are limited to ${MAX_BODY_BYTES} bytes`),
      );
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return Promise.resolve((tooBig(), false));
    return new Promise((resolve) => {
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        if (n > MAX_BODY_BYTES) {
          req.removeAllListeners('data');
          tooBig();
          resolve(false);
        }
      });
      req.once('end', () => resolve(n <= MAX_BODY_BYTES));
      req.once('error', () => resolve(false));
    });
  }

  private sessionCookie(id: string): string {
    return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${12 * 3600}`;
  }

  /** GET /login?code=…: spends a one-time code from `uplink dashboard`, sets the session cookie. */
  private login(req: IncomingMessage, res: ServerResponse, url: URL, listen: { host: string; port: number }): void {
    const v = authorize({
      method: 'GET',
      headers: req.headers,
      loopbackPeer: true,
      token: this.token,
      sessions: new Set(),
      listen,
    });
    if (!v.ok) return sendError(res, v.status, 'HTTP_FORBIDDEN', v.error);
    const id = this.sessions.redeem(url.searchParams.get('code') ?? '');
    if (!id)
      return sendError(
        res,
        403,
        'HTTP_FORBIDDEN',
        'this login link is used up or expired',
        'run `uplink dashboard` again',
      );
    res.writeHead(303, { location: '/', 'set-cookie': this.sessionCookie(id) });
    res.end();
  }

  /** POST /api/login with the bearer token (already checked): a session for the page. */
  private tokenLogin(res: ServerResponse): void {
    sendJson(res, 200, { ok: true }, { 'set-cookie': this.sessionCookie(this.sessions.open()) });
  }
}
