/**
 * Sends notices to the configured channels (mail, webhook, command), each channel with its own
 * rate limit and digest, each delivery retried a bounded number of times. A notification that
 * cannot be delivered is logged and is an event; it never stops anything else.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Config, NotifyConfig } from '../config/schema.js';
import type { Secrets } from '../config/secrets.js';
import type { DaemonEvent, EventBus } from '../events/bus.js';
import type { Component } from '../model/component.js';
import type { System } from '../system/system.js';
import { runOnce } from '../hooks/run-once.js';
import { after, type Timer } from '../model/timer.js';
import { digest, Limiter } from './limiter.js';
import { noticeFor, wants, type Notice, type NoticeContext } from './notices.js';

/** Delays before the 2nd and 3rd try: a mail server restarting, a webhook's deploy. */
const RETRY_MS = [5_000, 30_000];
const SEND_TIMEOUT_MS = 15_000;
const STOP_WAIT_MS = 2_000;

export interface NotifierDeps {
  config: () => Config;
  system: Pick<System, 'sendMail' | 'httpRequest' | 'spawn'>;
  bus: EventBus;
  log: Logger;
  secrets: () => Secrets;
  context: () => Omit<NoticeContext, 'host'>;
  retryMs?: number[];
}

interface Channel {
  cfg: NotifyConfig;
  label: string;
  limiter: Limiter;
  timer?: Timer;
}

export class Notifier implements Component {
  readonly name = 'notify';
  private channels: Channel[] = [];
  private unsubscribe?: () => void;
  private readonly inflight = new Set<Promise<void>>();
  private readonly host = hostname();
  private stopped = false;
  private readonly waking = new Set<() => void>();
  sent = 0;
  failed = 0;

  constructor(private readonly d: NotifierDeps) {}

  async start(): Promise<void> {
    this.sync();
    this.unsubscribe = this.d.bus.subscribe((e) => this.onEvent(e));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    for (const c of this.channels) c.timer?.clear();
    // A delivery under way gets a moment to finish (a mail about the stop itself); its retries
    // are dropped with the daemon, and a slow server never holds up a restart.
    for (const wake of [...this.waking]) wake();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inflight]),
      new Promise((r) => {
        timer = setTimeout(r, STOP_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  /** After a config change: a channel whose entry is unchanged keeps its window. */
  sync(): void {
    const old = new Map(this.channels.map((c) => [JSON.stringify(c.cfg), c]));
    this.channels = this.d.config().notify.map((cfg, i) => {
      const kept = old.get(JSON.stringify(cfg));
      if (kept) old.delete(JSON.stringify(cfg));
      return kept ?? { cfg, label: channelLabel(cfg, i), limiter: new Limiter(cfg.limit) };
    });
    // A channel that changed or went: what it held goes out now, as one digest, not lost.
    for (const c of old.values()) {
      c.timer?.clear();
      const held = c.limiter.takeDigest(performance.now());
      if (held.length) this.deliver(c, digest(held, this.host, c.cfg.limit.window));
    }
  }

  private onEvent(e: DaemonEvent): void {
    if (this.stopped || !this.channels.length) return;
    const n = noticeFor(e, { host: this.host, ...this.d.context() });
    if (!n) return;
    for (const c of this.channels) {
      if (!wants(c.cfg.events, n)) continue;
      // The limiter runs on a clock that does not jump: a stepped wall clock must not hold notices.
      if (c.limiter.admit(n, performance.now()) === 'send') this.deliver(c, n);
      else this.armDigest(c);
    }
  }

  private armDigest(c: Channel): void {
    if (c.timer) return;
    const ends = c.limiter.windowEnds ?? performance.now();
    // `after`: a window from the config may be longer than Node's timers take.
    c.timer = after(ends - performance.now(), () => {
      c.timer = undefined;
      const held = c.limiter.takeDigest(performance.now());
      if (held.length) this.deliver(c, digest(held, this.host, c.cfg.limit.window));
    });
  }

  private deliver(c: Channel, n: Notice): void {
    const p = this.tryDeliver(c, n).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private async tryDeliver(c: Channel, n: Notice): Promise<void> {
    const waits = this.d.retryMs ?? RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.send(c.cfg, n);
        this.sent++;
        this.d.log.info({ channel: c.label, event: n.event }, `notified: ${n.subject}`);
        return;
      } catch (e) {
        const why = (e as Error).message;
        if (attempt >= waits.length || this.stopped) {
          this.failed++;
          const message = `not delivered after ${attempt + 1} tries: ${n.subject}: ${why}`;
          this.d.log.error({ channel: c.label, event: n.event }, message);
          this.d.bus.publish({ type: 'notify', channel: c.label, ok: false, message });
          return;
        }
        this.d.log.warn({ channel: c.label, attempt: attempt + 1 }, `notification failed (${why}); retrying`);
        await this.pause(waits[attempt]!);
        if (this.stopped) {
          this.d.log.error({ channel: c.label, event: n.event }, `not delivered (uplinkd stopping): ${n.subject}`);
          return;
        }
      }
    }
  }

  /** A wait between tries that a stop cuts short: a restart never waits out a retry. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        timer.clear();
        this.waking.delete(wake);
        resolve();
      };
      const timer = after(ms, wake);
      this.waking.add(wake);
    });
  }

  private async send(cfg: NotifyConfig, n: Notice): Promise<void> {
    const secret = (name: string | undefined) => (name ? this.d.secrets().get(name) : undefined);
    const all: Promise<void>[] = [];
    if (cfg.mail) all.push(this.mail(cfg.mail, n, secret));
    if (cfg.webhook) all.push(this.webhook(cfg.webhook, n, secret(cfg.webhook.token_secret)));
    if (cfg.command) all.push(this.command(cfg.command, n));
    const failures = (await Promise.allSettled(all)).filter((r) => r.status === 'rejected');
    if (failures.length)
      throw new Error(failures.map((f) => String((f as PromiseRejectedResult).reason?.message)).join('; '));
  }

  private mail(m: NonNullable<NotifyConfig['mail']>, n: Notice, secret: (s?: string) => string | undefined) {
    const s = m.smtp;
    const pass = secret(s?.password_secret);
    return this.d.system.sendMail({
      from: m.from ?? `uplinkd@${this.host}`,
      to: m.to,
      subject: n.subject,
      text: n.text,
      timeoutMs: SEND_TIMEOUT_MS,
      ...(s
        ? {
            smtp: {
              host: s.host,
              port: s.port,
              tls: s.tls,
              ...(s.username && pass ? { auth: { user: s.username, pass } } : {}),
            },
          }
        : {}),
    });
  }

  private async webhook(w: NonNullable<NotifyConfig['webhook']>, n: Notice, token: string | undefined) {
    const r = await this.d.system.httpRequest({
      method: 'POST',
      url: w.url,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({
        event: n.event,
        uplink: n.uplink,
        subject: n.subject,
        text: n.text,
        time: n.time,
        host: this.host,
      }),
      timeoutMs: SEND_TIMEOUT_MS,
    });
    if (r.status < 200 || r.status > 299) throw new Error(`webhook answered HTTP ${r.status}`);
  }

  private async command(cmd: string, n: Notice) {
    const r = await runOnce(this.d.system, {
      command: cmd,
      env: { NOTIFY_EVENT: n.event, UPLINK: n.uplink ?? '', SUBJECT: n.subject, MESSAGE: n.text },
      timeoutMs: SEND_TIMEOUT_MS,
    });
    if (!r.ok) throw new Error(`command ${r.how}`);
  }

  view() {
    return { channels: this.channels.map((c) => c.label), sent: this.sent, failed: this.failed };
  }
}

function channelLabel(cfg: NotifyConfig, i: number): string {
  const kinds = [cfg.mail && `mail ${cfg.mail.to}`, cfg.webhook && 'webhook', cfg.command && 'command'].filter(Boolean);
  return `notify[${i}] ${kinds.join('+')}`;
}
