/**
 * Announces uplinks' addresses: when an uplink that is up has an address its updaters have not
 * announced, each updater (dyndns2, RFC 2136, command) sends it, from that address, so the
 * update leaves through that uplink (its `from ADDRESS` rule) and the server sees the right
 * source. Results are events and status; what was announced is saved, so a restart resends nothing.
 */
import type { Logger } from 'pino';
import type { AnnounceConfig, Config } from '../config/schema.js';
import type { Secrets } from '../config/secrets.js';
import type { EventBus } from '../events/bus.js';
import type { Component } from '../model/component.js';
import { after, type Timer } from '../model/timer.js';
import type { System } from '../system/system.js';
import { runOnce } from '../hooks/run-once.js';
import { dyndns2Verdict, dyndnsUrl } from './dyndns2.js';
import {
  afterSend,
  announceFileSchema,
  shouldSend,
  updaterKey,
  type Outcome,
  type UpdaterKind,
  type UpdaterState,
  UPDATERS,
} from './state.js';

const SEND_TIMEOUT_MS = 15_000;

export interface AnnounceUplink {
  iface: string;
  /** Up (probes pass) and routed by its own table: an update can leave through it. */
  ready: boolean;
  address?: string;
}

export interface AnnouncerDeps {
  config: () => Config;
  system: Pick<System, 'httpRequest' | 'dnsUpdate' | 'spawn' | 'store'>;
  bus: EventBus;
  log: Logger;
  secrets: () => Secrets;
  uplink: (name: string) => AnnounceUplink | undefined;
  stateFile: () => string;
}

interface Updater {
  id: string;
  uplink: string;
  kind: UpdaterKind;
  entry: AnnounceConfig;
  state: UpdaterState;
}

/** A retry timer never spins: at least this far apart. */
const MIN_RETRY_MS = 1000;

export class Announcer implements Component {
  readonly name = 'announce';
  private updaters = new Map<string, Updater>();
  /** Updaters (by id) with a send on its way: one at a time each, across a reload too. */
  private readonly inFlight = new Set<string>();
  private saving = Promise.resolve();
  private saved: Record<string, UpdaterState> = {};
  private timer?: Timer;
  private stopped = false;

  constructor(private readonly d: AnnouncerDeps) {}

  async start(): Promise<void> {
    this.saved = await this.load();
    this.sync();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.clear();
    await this.saving;
  }

  /** After a config change: an updater whose config is unchanged keeps its state (and its disable). */
  sync(): void {
    const next = new Map<string, Updater>();
    this.d.config().announce.forEach((entry, i) => {
      for (const kind of UPDATERS) {
        if (entry[kind] === undefined) continue;
        const key = updaterKey(entry.uplink, kind, entry[kind], this.secretValues(entry));
        const id = `${entry.uplink}/${kind}/${i}`;
        const old = this.updaters.get(id);
        const state =
          old?.state.key === key ? old.state : this.saved[id]?.key === key ? this.saved[id]! : { key, failures: 0 };
        next.set(id, { id, uplink: entry.uplink, kind, entry, state });
      }
    });
    this.updaters = next;
    this.check();
  }

  /** The values of the secrets an entry names: a fixed password is a change, and re-enables it. */
  private secretValues(entry: AnnounceConfig): string[] {
    const names = [entry.dyndns?.password_secret, entry.rfc2136?.key.secret_secret];
    return names.map((n) => (n ? (this.d.secrets().get(n) ?? '') : ''));
  }

  /** After every reconcile run and on the retry timer: send what is due. */
  check(): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const u of this.updaters.values()) {
      const up = this.d.uplink(u.uplink);
      if (this.inFlight.has(u.id) || !up?.ready) continue;
      if (shouldSend(u.state, up.address, now)) void this.send(u, up.address!, up.iface);
    }
    this.armRetry();
  }

  /**
   * Wakes for the next retry that is still ahead. One already due was sent by check() if it
   * could be; if it could not (uplink not ready), the next reconcile run looks again.
   */
  private armRetry(): void {
    this.timer?.clear();
    const now = Date.now();
    const due = [...this.updaters.values()]
      .filter((u) => !this.inFlight.has(u.id) && !u.state.disabled)
      .map((u) => u.state.nextAt)
      .filter((t): t is number => t !== undefined && t > now);
    if (due.length) this.timer = after(Math.max(MIN_RETRY_MS, Math.min(...due) - now), () => this.check());
  }

  private async send(u: Updater, address: string, iface: string): Promise<void> {
    this.inFlight.add(u.id);
    let o: Outcome;
    try {
      o = await this.attempt(u, address, iface, u.state.announced);
    } catch (e) {
      o = { kind: 'retry', result: 'error', message: (e as Error).message };
    }
    this.inFlight.delete(u.id);
    if (this.stopped) return;
    // A reload meanwhile: the result counts for the updater it was sent for, if it is unchanged.
    const cur = this.updaters.get(u.id);
    if (cur && cur.state.key === u.state.key) {
      cur.state = afterSend(cur.state, address, o, Date.now(), cur.entry.retry);
      this.report(cur, address, o);
      this.save();
    }
    // The address may have changed while this one was on its way.
    this.check();
  }

  private attempt(u: Updater, address: string, iface: string, prev: string | undefined): Promise<Outcome> {
    if (u.kind === 'dyndns') return this.dyndns(u.entry.dyndns!, address);
    if (u.kind === 'rfc2136') return this.rfc2136(u.entry.rfc2136!, address);
    return this.command(u.entry.command!, u.uplink, iface, address, prev);
  }

  private async dyndns(c: NonNullable<AnnounceConfig['dyndns']>, address: string): Promise<Outcome> {
    const pass = c.password_secret ? this.d.secrets().get(c.password_secret) : undefined;
    const auth =
      c.username && pass
        ? { authorization: `Basic ${Buffer.from(`${c.username}:${pass}`).toString('base64')}` }
        : undefined;
    const r = await this.d.system.httpRequest({
      method: 'GET',
      url: dyndnsUrl(c.url, address, c.hostname),
      ...(auth ? { headers: auth } : {}),
      localAddress: address,
      timeoutMs: SEND_TIMEOUT_MS,
    });
    const v = dyndns2Verdict(r.status, r.body);
    if (v.kind === 'ok')
      return { kind: 'ok', result: v.result, message: `${v.result}: ${c.hostname ?? 'the host'} is at ${address}` };
    return {
      kind: v.kind,
      result: v.result,
      message: v.why,
      ...(v.kind === 'retry' && v.minWaitMs ? { minWaitMs: v.minWaitMs } : {}),
    };
  }

  private async rfc2136(c: NonNullable<AnnounceConfig['rfc2136']>, address: string): Promise<Outcome> {
    const secret = this.d.secrets().get(c.key.secret_secret) ?? '';
    const r = await this.d.system.dnsUpdate({
      server: c.server,
      port: c.port,
      zone: c.zone,
      name: c.name,
      type: address.includes(':') ? 'AAAA' : 'A',
      address,
      ttl: c.ttl,
      key: { name: c.key.name, algorithm: c.key.algorithm, secret },
      localAddress: address,
      timeoutMs: SEND_TIMEOUT_MS,
    });
    const result = r.tsigError ? `${r.rcode}/${r.tsigError}` : r.rcode;
    if (r.ok) return { kind: 'ok', result, message: `${c.name} set to ${address} on ${c.server}` };
    return { kind: r.retryable ? 'retry' : 'fatal', result, message: r.message };
  }

  private async command(
    cmd: string,
    uplink: string,
    iface: string,
    address: string,
    prev: string | undefined,
  ): Promise<Outcome> {
    const r = await runOnce(this.d.system, {
      command: cmd,
      env: { UPLINK: uplink, IFACE: iface, ADDRESS: address, PREV_ADDRESS: prev ?? '' },
      timeoutMs: SEND_TIMEOUT_MS,
    });
    return { kind: r.ok ? 'ok' : 'retry', result: r.ok ? 'exit 0' : r.how, message: `announce command ${r.how}` };
  }

  private report(u: Updater, address: string, o: Outcome): void {
    const disabled = o.kind === 'fatal';
    const message = disabled
      ? `${o.message}; ${u.kind} updater disabled until the config changes`
      : o.kind === 'retry'
        ? `${o.message} (retry at ${new Date(u.state.nextAt!).toISOString()})`
        : o.message;
    const log = o.kind === 'ok' ? this.d.log.info : disabled ? this.d.log.error : this.d.log.warn;
    log.call(
      this.d.log,
      { uplink: u.uplink, updater: u.kind, address, result: o.result },
      `announce ${u.uplink} ${u.kind}: ${message}`,
    );
    this.d.bus.publish({
      type: 'announce',
      uplink: u.uplink,
      updater: u.kind,
      address,
      ok: o.kind === 'ok',
      result: o.result,
      ...(disabled ? { disabled: true } : {}),
      message,
    });
  }

  private async load(): Promise<Record<string, UpdaterState>> {
    const text = await this.d.system.store.read(this.d.stateFile());
    if (!text) return {};
    try {
      return announceFileSchema.parse(JSON.parse(text)).updaters;
    } catch (e) {
      this.d.log.warn(
        { error: (e as Error).message },
        'announce state unreadable; starting afresh (addresses may be sent again)',
      );
      return {};
    }
  }

  /** Saves one after the other, each the state at its turn: a late write never rolls back an earlier one. */
  private save(): void {
    this.saving = this.saving.then(async () => {
      const updaters = Object.fromEntries([...this.updaters].map(([id, u]) => [id, u.state]));
      try {
        await this.d.system.store.write(this.d.stateFile(), `${JSON.stringify({ version: 1, updaters })}\n`);
      } catch (e) {
        this.d.log.error({ error: (e as Error).message }, 'cannot save the announce state');
      }
    });
  }

  /** For `uplink status`: each updater's last result, what it announced, and whether it is disabled. */
  view() {
    return [...this.updaters.values()].map((u) => ({
      uplink: u.uplink,
      updater: u.kind,
      announced: u.state.announced,
      ...(u.state.disabled ? { disabled: u.state.disabled } : {}),
      ...(u.state.nextAt ? { nextRetry: new Date(u.state.nextAt).toISOString() } : {}),
      ...(u.state.last ? { last: u.state.last } : {}),
    }));
  }
}
