/**
 * Dial on demand (diald's job): one persistent TUN proxy per demand uplink, opened before
 * the control socket answers; traffic that a rule lets dial asks the manager for the link;
 * held packets are replayed once its routes exist; an idle check hangs up when nothing the
 * rules keep has passed for the timeout (counted by nftables, read back here).
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { EventBus } from '../events/bus.js';
import type { System } from '../system/system.js';
import type { UplinkManager } from '../uplinks/manager.js';
import { UplinkError } from '../errors.js';
import type { Component } from '../model/component.js';
import type { World } from '../world/world.js';
import { demandProxies, demandRules, idleMs } from '../config/demand.js';
import { DemandProxy, type DemandView } from './proxy.js';
import type { DemandRule } from '../config/demand-rules.js';
import { TABLE } from '../model/nft.js';
import { demandSet } from './nft.js';

export interface DemandDeps {
  system: System;
  log: Logger;
  bus: EventBus;
  config: () => Config;
  manager: UplinkManager;
  world: World;
  /** A proxy opened or closed: its route must follow. */
  onProxiesChanged?: () => void;
}

/** The idle check looks every `idle`/4, between these bounds (each look runs `nft list set`). */
const CHECK_MIN_MS = 100;
const CHECK_MAX_MS = 1000;

export class Demand implements Component {
  readonly name = 'demand';
  /** Proxies closed by stop(): teardown() deletes their interfaces. */
  private closed: string[] = [];
  private readonly proxies = new Map<string, DemandProxy>();
  private rules: DemandRule[] = [];
  private timer?: NodeJS.Timeout;
  private checking = false;
  private readonly nextCheck = new Map<string, number>();

  constructor(private readonly d: DemandDeps) {}

  async start(): Promise<void> {
    await this.sync();
  }

  /** Closes our fds; the persistent proxies stay, and keep their routes. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const [name, p] of this.proxies) {
      this.proxies.delete(name);
      await p.close();
      this.closed.push(p.d.iface);
    }
  }

  /** `quit --teardown`, after stop(): the proxy interfaces go too. */
  async teardown(): Promise<void> {
    for (const iface of this.closed.splice(0)) await this.d.system.removeProxy(iface);
  }

  /** Opens and closes proxies to match the config (start and reload). */
  async sync(): Promise<void> {
    const cfg = this.d.config();
    this.rules = demandRules(cfg);
    const want = new Map(demandProxies(cfg).map((p) => [p.name, p]));
    for (const [name, p] of this.proxies) {
      const w = want.get(name);
      if (w?.iface === p.d.iface && w.address === p.address) continue;
      // Out of the map first: a replay must never write to an fd that is being closed.
      this.proxies.delete(name);
      this.nextCheck.delete(name);
      await p.close();
      await this.d.system.removeProxy(p.d.iface);
    }
    for (const w of want.values()) {
      const have = this.proxies.get(w.name);
      if (have) {
        have.queue.setLimits(this.limits(cfg));
        continue;
      }
      await this.open(w.name, w.iface, w.address, cfg);
    }
    this.idleTimer();
  }

  /** The idle check runs only while there are proxies: a daemon without demand uplinks never wakes for it. */
  private idleTimer(): void {
    if (this.proxies.size && !this.timer) this.timer = setInterval(() => void this.checkIdle(), CHECK_MIN_MS).unref();
    if (!this.proxies.size && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private limits(cfg: Config) {
    return { maxBytes: cfg.demand.queue.max_bytes, maxAgeMs: cfg.demand.queue.max_age };
  }

  private async open(name: string, iface: string, address: string, cfg: Config): Promise<void> {
    const log = this.d.log.child({ uplink: name, proxy: iface });
    const p = new DemandProxy({
      name,
      iface,
      log,
      bus: this.d.bus,
      rules: () => this.rules,
      limits: this.limits(cfg),
      dial: (why) => {
        this.d.bus.publish({ type: 'demand', name, event: 'dial', message: `dialing for ${why}` });
        this.d.manager.setDemand(name, true, 'traffic');
      },
      // Not while traffic could never get out: admin down, blocked (by the admin or a window), or given up.
      enabled: () => {
        const u = this.d.manager.uplinks.get(name);
        return !!u && !u.demandOff && !u.adminDown && !u.adminBlocked && !u.scheduleHeld && !u.driver?.gaveUpReason;
      },
      wanted: () => !!this.d.manager.uplinks.get(name)?.demandWanted,
      linkUp: () => this.d.world.linkUp(this.d.config().uplinks[name]?.interface ?? ''),
    });
    p.address = address;
    // In the map before the TUN is open: status shows it, and a failed open is retried.
    this.proxies.set(name, p);
    await this.attach(name, p, log);
  }

  /** Opens the proxy's TUN; a failure (or a later read/write error) is retried with backoff, never thrown. */
  private async attach(name: string, p: DemandProxy, log: DemandDeps['log']): Promise<void> {
    try {
      p.tun = await this.d.system.openProxy({
        name: p.d.iface,
        address: p.address!,
        onPackets: (pkts) => p.onPackets(pkts),
        onError: (message) => {
          log.error({ error: message }, 'demand proxy failed; reopening it');
          this.retry(name, p, log);
        },
      });
      p.retryMs = undefined;
      log.info({ address: p.address }, `demand proxy ${p.d.iface} armed`);
      this.d.bus.publish({
        type: 'demand',
        name,
        event: 'proxy',
        message: `proxy ${p.d.iface} armed (${p.address}/32)`,
      });
    } catch (e) {
      const message = `cannot open proxy ${p.d.iface}: ${(e as Error).message}`;
      log.error(message);
      this.d.bus.publish({ type: 'demand', name, event: 'proxy', message });
      this.retry(name, p, log);
    }
    this.d.onProxiesChanged?.();
  }

  private retry(name: string, p: DemandProxy, log: DemandDeps['log']): void {
    if (p.retryTimer) return;
    p.retryMs = Math.min(30_000, (p.retryMs ?? 500) * 2);
    p.retryTimer = setTimeout(() => {
      p.retryTimer = undefined;
      if (this.proxies.get(name) !== p) return;
      const old = p.tun;
      p.tun = undefined;
      void (old?.close() ?? Promise.resolve()).then(() => this.attach(name, p, log));
    }, p.retryMs);
    p.retryTimer.unref();
  }

  /** Uplink name → proxy interface, for the routes (only proxies that are open). */
  openProxies(): Map<string, string> {
    return new Map([...this.proxies].filter(([, p]) => p.tun).map(([n, p]) => [n, p.d.iface]));
  }

  /** After routes were applied: links whose default route is in the selection table get their held packets. */
  afterApply(routedDevs: ReadonlySet<string>): void {
    const cfg = this.d.config();
    for (const [name, p] of this.proxies) p.setRouted(routedDevs.has(cfg.uplinks[name]?.interface ?? ''));
  }

  /** `uplink demand NAME on|off` (diald's demand/nodemand). */
  setEnabled(name: string, on: boolean): string {
    const u = this.d.manager.uplinks.get(name);
    if (!u || !this.proxies.has(name)) {
      throw new UplinkError(
        'USAGE',
        `"${name}" is not a demand uplink`,
        `demand uplinks: ${[...this.proxies.keys()].join(', ') || 'none'}`,
      );
    }
    this.d.manager.setDemandEnabled(name, on);
    const message = `${name}: dialing on demand ${on ? 'on' : 'off'}`;
    this.d.bus.publish({ type: 'demand', name, event: 'mode', message });
    return message;
  }

  view(name: string): DemandView | undefined {
    const p = this.proxies.get(name);
    return p?.view(!this.d.manager.uplinks.get(name)?.demandOff);
  }

  private async checkIdle(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      for (const [name, p] of this.proxies) {
        const now = Date.now();
        if (now < (this.nextCheck.get(name) ?? 0)) continue;
        const u = this.d.config().uplinks[name];
        const idle = u ? idleMs(u) : 0;
        this.nextCheck.set(name, now + Math.min(CHECK_MAX_MS, Math.max(CHECK_MIN_MS, idle / 4)));
        await this.checkOne(name, p, now);
      }
    } catch (e) {
      this.d.log.warn({ error: (e as Error).message }, 'demand idle check failed');
    } finally {
      this.checking = false;
    }
  }

  private async checkOne(name: string, p: DemandProxy, now: number): Promise<void> {
    const u = this.d.manager.uplinks.get(name);
    if (!u?.demandWanted) {
      p.keptUpBy = [];
      return;
    }
    const up = p.routedSince;
    const idle = idleMs(u.cfg);
    if (up === undefined) {
      // Still dialing (or re-dialing after the peer hung up) with no traffic for a whole idle
      // time: stop, like diald; the next packet dials again.
      if (idle > 0 && now - p.lastPacketAt >= idle) this.hangup(name, 'idle', 'no traffic waits for the link any more');
      return;
    }
    // Only once the link is up: each read spawns nft, which must not slow a dial.
    const set = await this.d.system.nftSetElements(TABLE, demandSet(name));
    if (!set) return; // unreadable (firewall being rebuilt?): no decision, look again next time
    p.keptUpBy = set;
    if (u.cfg.max_up !== undefined && now - up >= u.cfg.max_up)
      return this.hangup(name, 'max_up', `up for ${Math.round((now - up) / 1000)}s (max_up)`);
    if (idle === 0 || p.keptUpBy.length) return;
    // A fresh link stays up at least its idle time (or min_up, when longer), traffic or not.
    if (now - up < Math.max(idle, u.cfg.min_up ?? 0)) return;
    this.hangup(name, 'idle', 'no traffic the demand rules keep');
  }

  private hangup(name: string, why: 'idle' | 'max_up', message: string): void {
    this.d.bus.publish({ type: 'demand', name, event: 'hangup', message: `hanging up: ${message}` });
    this.d.manager.setDemand(name, false, why);
  }
}
