/**
 * One demand uplink's proxy: packets routed into its TUN while the link is down are
 * judged by the demand rules (first match wins), held, and written back once the routes
 * of the new link are in place (make before break). While the link is up the TUN sees
 * nothing; the keep-up accounting then lives in nftables (firewall render) and is read
 * back by the idle check here.
 */
import type { Logger } from 'pino';
import type { EventBus } from '../events/bus.js';
import type { NftSetElement } from '../model/nft.js';
import type { TunHandle } from '../system/tun/index.js';
import { parsePacket, summarize } from './packet.js';
import { HoldQueue, type QueueLimits } from './queue.js';
import { describeRule, type DemandRule } from '../config/demand-rules.js';
import { dials, firstMatch } from './rules.js';

export interface ProxyDeps {
  name: string;
  iface: string;
  log: Logger;
  bus: EventBus;
  rules: () => DemandRule[];
  limits: QueueLimits;
  /** Traffic asks for the link. */
  dial: (summary: string) => void;
  /** Dialing on demand is switched on (`uplink demand NAME on`). */
  enabled: () => boolean;
  /** The link is being dialed or is up: every packet is held, not only those that dial. */
  wanted: () => boolean;
  /** The uplink's interface exists and has carrier now (the kernel may drop its routes before a reconcile sees it). */
  linkUp: () => boolean;
}

export interface DemandView {
  proxy: string;
  enabled: boolean;
  lastTrigger?: { at: string; packet: string; rule: string };
  keptUpBy: { flow: string; expiresInMs?: number }[];
  queue: ReturnType<HoldQueue['counters']> & { ignored: number; unparsed: number; replayFailed: number };
  dials: number;
  lastReplay?: { at: string; packets: number; delayMs: number };
}

export class DemandProxy {
  readonly queue: HoldQueue;
  tun?: TunHandle;
  /** The proxy's /32, as opened (a reload that changes it reopens the proxy). */
  address?: string;
  retryTimer?: NodeJS.Timeout;
  retryMs?: number;
  private lastTrigger?: DemandView['lastTrigger'];
  private lastReplay?: DemandView['lastReplay'];
  private ignored = 0;
  private unparsed = 0;
  /** Drained for replay but refused by the TUN (write error): lost, and counted. */
  private replayFailed = 0;
  private dialCount = 0;
  /** When the link's routes last appeared (for the replay delay) — undefined while down. */
  routedSince?: number;
  keptUpBy: NftSetElement[] = [];
  /** When the proxy last held a packet: a dial with nothing waiting any more is given up when idle. */
  lastPacketAt = Date.now();
  private replayTimer?: NodeJS.Timeout;

  constructor(readonly d: ProxyDeps) {
    this.queue = new HoldQueue(d.limits);
  }

  onPackets(pkts: Buffer[]): void {
    const now = Date.now();
    // Asked once per batch (a flood comes in batches of up to 256): held while dialing or up.
    const routed = this.routed();
    let holding = routed || this.d.wanted();
    for (const pkt of pkts) holding = this.onPacket(pkt, now, holding);
    // A packet that reached the proxy although the link is routed raced the route change: send it on.
    if (routed && this.queue.size) this.scheduleReplay();
  }

  /** Returns whether packets are held from now on (true once this one dialed). */
  private onPacket(pkt: Buffer, now: number, holding: boolean): boolean {
    const info = parsePacket(pkt);
    if (!info) {
      this.unparsed++;
      return holding;
    }
    if (holding) {
      this.lastPacketAt = now;
      this.queue.push(pkt, now);
      return true;
    }
    const rule = firstMatch(this.d.rules(), info, 'out');
    if (!rule || !dials(rule.action) || !this.d.enabled()) {
      this.ignored++;
      return false;
    }
    this.queue.push(pkt, now);
    this.lastPacketAt = now;
    this.dialCount++;
    const packet = summarize(info);
    this.lastTrigger = { at: new Date(now).toISOString(), packet, rule: describeRule(rule) };
    this.d.dial(`${packet} (rule "${describeRule(rule)}")`);
    return true;
  }

  /** After a reconcile applied routes: `routed` says whether this link's default route is in the selection table. */
  setRouted(routed: boolean, now = Date.now()): void {
    if (!routed) {
      this.routedSince = undefined;
      return;
    }
    this.routedSince ??= now;
    if (this.queue.size && this.routed()) this.replay(now);
  }

  private scheduleReplay(): void {
    this.replayTimer ??= setTimeout(() => {
      this.replayTimer = undefined;
      if (this.routed()) this.replay(Date.now());
    }, 20);
  }

  /**
   * Routes for the link are applied AND its interface is up now. Writing a packet back while
   * the kernel still routes it into the proxy would loop it (and send ICMP redirects).
   */
  private routed(): boolean {
    return this.routedSince !== undefined && this.d.linkUp();
  }

  private replay(now: number): void {
    // No TUN (being reopened): keep holding; the next routed apply replays.
    const tun = this.tun;
    if (!tun) return;
    const pkts = this.queue.drain(now);
    if (!pkts.length) return;
    // The first packet alone, the rest a moment later: the first one on a new link waits for
    // the gateway's neighbour entry, and a packet right behind it could overtake it.
    const written = tun.write(pkts.slice(0, 1));
    if (pkts.length === 1) return this.replayed(now, written, 1);
    setImmediate(() => this.replayed(now, written + (this.tun === tun ? tun.write(pkts.slice(1)) : 0), pkts.length));
  }

  private replayed(now: number, written: number, of: number): void {
    this.replayFailed += of - written;
    this.lastReplay = {
      at: new Date(now).toISOString(),
      packets: written,
      delayMs: this.routedSince === undefined ? 0 : now - this.routedSince,
    };
    this.d.log.info({ packets: written, of }, `replayed ${written} held packet(s) through the new link`);
    this.d.bus.publish({
      type: 'demand',
      name: this.d.name,
      event: 'replay',
      message: `replayed ${written} held packet(s)`,
    });
  }

  view(enabled: boolean): DemandView {
    return {
      proxy: this.d.iface,
      enabled,
      dials: this.dialCount,
      ...(this.lastTrigger ? { lastTrigger: this.lastTrigger } : {}),
      keptUpBy: this.keptUpBy.map((e) => ({
        flow: e.key,
        ...(e.expiresMs !== undefined ? { expiresInMs: e.expiresMs } : {}),
      })),
      queue: {
        ...this.queue.counters(),
        ignored: this.ignored,
        unparsed: this.unparsed,
        replayFailed: this.replayFailed,
      },
      ...(this.lastReplay ? { lastReplay: this.lastReplay } : {}),
    };
  }

  async close(): Promise<void> {
    clearTimeout(this.replayTimer);
    clearTimeout(this.retryTimer);
    await this.tun?.close();
  }
}
