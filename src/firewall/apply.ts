/**
 * Keeps `table inet uplinkd` equal to the ruleset rendered from state: renders
 * on every reconcile, applies only when the rendering changed (one atomic nft
 * batch that replaces our table alone), and every few seconds checks that the
 * table is still ours by its handle and our generation marker (never by text
 * diff: nft normalises, so a diff would re-apply forever). Someone's
 * `nft flush ruleset` is undone within seconds, with a warning event.
 */
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { EventBus } from '../events/bus.js';
import type { System } from '../system/system.js';
import type { RulesetListener } from '../system/kernel.js';
import type { Component } from '../model/component.js';
import { GENERATION_SET, readGeneration, renderRuleset, type FirewallInput } from './render.js';
import { firewallEnabled, firewallInput } from './input.js';
import { WAN_ADDRS4 } from './hairpin.js';
import { demandSet } from '../demand/nft.js';
import { TABLE, type NftSetElement } from '../model/nft.js';

export interface FirewallDeps {
  system: System;
  log: Logger;
  bus: EventBus;
  config: () => Config;
  /** Our table was flushed or replaced by someone else: the reconcile loop must apply it again. */
  onTampered?: (why: string) => void;
  /** Renders the nft batch (JSON text or data); the daemon sends big rulesets to a worker. Default: renderRuleset here. */
  render?: (input: FirewallInput) => Promise<unknown>;
  /** The kernel watch's nf_tables events (false: none here, so poll every 2 s). */
  onRuleset?: (fn: RulesetListener) => boolean;
}

export interface FirewallStatus {
  enabled: boolean;
  generation: number;
  lastApply?: { at: string; ok: boolean; error?: string };
  restored: number;
}

const VERIFY_MS = 2000;
/** With nf_tables events the check runs on a change of our table; this poll is the backstop. */
const VERIFY_BACKSTOP_MS = 60_000;
/** A change is a burst of messages (ours too): look once it has passed, at most once a second. */
const VERIFY_AFTER_CHANGE_MS = 50;
const VERIFY_SPACING_MS = 1000;

/** Two inputs render the same table unless they differ beyond the generation and the address set. */
const shape = (i: FirewallInput): FirewallInput => ({ ...i, generation: 0, wanAddrs4: [] });

/** The table in an `nft -j list table` answer. */
const tableOf = (listing: { nftables: Record<string, unknown>[] } | undefined) =>
  listing?.nftables.find((e) => 'table' in e)?.table as { handle?: number } | undefined;

export class Firewall implements Component {
  readonly name = 'firewall';
  private generation = 0;
  /** What the applied table was rendered from (its shape); undefined: nothing applied (or tampered with). */
  private applied?: FirewallInput;
  /** The uplink addresses in the hairpin set now (they change without the rest of the table). */
  private appliedAddrs?: string[];
  /** Proxies whose notrack rules are in the applied ruleset: only these may carry a route. */
  private armed = new Set<string>();
  private handle?: number;
  private timer?: NodeJS.Timeout;
  private soon?: NodeJS.Timeout;
  /** An ensure() (our own nft run) is in flight. */
  private ensuring = false;
  private lastVerify = 0;
  private busy?: Promise<void>;
  private restored = 0;
  /** Off, and already checked that no table of ours is left: no nft call per reconcile. */
  private absent = false;
  private lastApply?: FirewallStatus['lastApply'];

  constructor(private readonly d: FirewallDeps) {}

  /**
   * Starts the tamper check: on each nf_tables change of our table where the kernel tells us
   * (two nft runs every 2 s were most of an idle daemon's CPU), else every 2 s. Applies come
   * from the reconcile loop (ensure).
   */
  async start(): Promise<void> {
    const events =
      this.d.onRuleset?.((tables, lost) => {
        // What our own applies change is known: only changes from outside are looked at.
        if (lost || (tables.includes(TABLE) && !this.ensuring)) this.changed();
      }) ?? false;
    this.timer = setInterval(() => void this.verify(), events ? VERIFY_BACKSTOP_MS : VERIFY_MS);
    this.timer.unref();
  }

  private changed(): void {
    if (this.soon) return;
    const wait = Math.max(VERIFY_AFTER_CHANGE_MS, this.lastVerify + VERIFY_SPACING_MS - Date.now());
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.verify();
    }, wait).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.soon);
    await this.busy?.catch(() => undefined);
  }

  /** `quit --teardown`: our table goes. */
  async teardown(): Promise<void> {
    await this.remove();
  }

  /**
   * Demand proxies whose notrack rules are applied. A packet routed into a proxy before that
   * gets a conntrack entry without NAT, and its replayed copy would leave un-NATed.
   */
  armedProxies(): ReadonlySet<string> {
    return this.armed;
  }

  status(): FirewallStatus {
    return {
      enabled: firewallEnabled(this.d.config()),
      generation: this.generation,
      lastApply: this.lastApply,
      restored: this.restored,
    };
  }

  /** Validates the ruleset a config would produce, without applying it (reload refuses what nft refuses). */
  async check(cfg: Config): Promise<void> {
    if (firewallEnabled(cfg)) await this.d.system.nft(await this.render(firewallInput(cfg, this.generation + 1)), true);
  }

  /**
   * From the reconcile loop: makes our table what `want` renders (undefined: no table of
   * ours), calling nft only when that differs from what is applied. Rejects with nft's error;
   * the loop retries with backoff.
   */
  async ensure(want: FirewallInput | undefined): Promise<void> {
    await this.busy?.catch(() => undefined);
    this.ensuring = true;
    this.busy = want ? this.apply(want) : this.remove();
    return this.busy.finally(() => {
      this.ensuring = false;
      this.settled = true;
    });
  }

  /**
   * A first apply has ended (applied or refused): until then ICMP probes would leave before
   * the rule that keeps them out of conntrack, and each would leave an entry for 30 s.
   */
  settled = false;

  private render(input: FirewallInput): Promise<unknown> {
    return this.d.render ? this.d.render(input) : Promise.resolve(renderRuleset(input));
  }

  private async apply(want: FirewallInput): Promise<void> {
    const addrs = [...new Set(want.wanAddrs4 ?? [])].sort();
    if (this.applied && isDeepStrictEqual(shape(want), this.applied)) {
      if (!isDeepStrictEqual(addrs, this.appliedAddrs)) await this.updateAddrs(addrs);
      return;
    }
    const generation = this.generation + 1;
    const input = { ...want, generation, wanAddrs4: addrs };
    try {
      if (input.demand?.uplinks.length)
        input.demand = {
          ...input.demand,
          carry: await this.connectionSets(input.demand.uplinks.map((u) => demandSet(u.name))),
        };
      await this.d.system.nft(await this.render(input));
    } catch (e) {
      this.lastApply = { at: new Date().toISOString(), ok: false, error: (e as Error).message };
      throw e;
    }
    this.generation = generation;
    this.armed = new Set(input.demand?.uplinks.map((u) => u.proxy) ?? []);
    this.applied = shape(want);
    this.appliedAddrs = addrs;
    this.absent = false;
    this.handle = await this.tableHandle();
    this.lastApply = { at: new Date().toISOString(), ok: true };
    this.d.log.info(
      { generation },
      `firewall: ${this.d.system.kind === 'dry-run' ? 'would apply' : 'applied'} generation ${generation}`,
    );
    this.d.bus.publish({ type: 'firewall', generation, ok: true, message: `ruleset generation ${generation} applied` });
    await this.warnForeignDrops();
    // For `include` in /etc/nftables.conf: a `systemctl reload nftables` then brings our table back at once.
    await this.d.system
      .nftSnapshot(TABLE, join(this.d.config().control.state_dir, 'uplinkd.nft'))
      .catch((e) => this.d.log.warn({ err: e }, 'cannot write uplinkd.nft'));
  }

  /**
   * A packet passes only if every base chain on its hook accepts it: another
   * table's drop policy (docker's FORWARD, a firewalld zone) overrides our
   * accepts, and the admin should hear it from us rather than from users.
   */
  private async warnForeignDrops(): Promise<void> {
    const chains = await this.d.system.nftChains().catch(() => []);
    for (const c of chains) {
      if (
        c.table === TABLE ||
        c.policy !== 'drop' ||
        (c.hook !== 'forward' && c.hook !== 'input' && c.hook !== 'prerouting')
      )
        continue;
      const message = `warning: chain ${c.name} of table ${c.family} ${c.table} has policy drop on the ${c.hook} hook; it overrides our accepts (forwards, LAN to the uplinks)`;
      this.d.log.warn(message);
      this.d.bus.publish({ type: 'firewall', generation: this.generation, ok: true, message });
    }
  }

  /**
   * Only the uplinks' addresses changed (a link came up, a dial got its address): update the
   * hairpin set in place, atomically, instead of rebuilding the table. A rebuild would also
   * empty the demand connection sets just as a dialed link's first packets fill them.
   */
  private async updateAddrs(addrs: string[]): Promise<void> {
    const set = { family: 'inet', table: TABLE, name: WAN_ADDRS4 };
    await this.d.system.nft({
      nftables: [{ flush: { set } }, ...(addrs.length ? [{ add: { element: { ...set, elem: addrs } } }] : [])],
    });
    this.appliedAddrs = addrs;
    this.d.log.debug({ addrs }, 'firewall: uplink addresses updated in place');
  }

  /** The demand connection sets as they are now, to carry them into the rebuilt table. */
  private async connectionSets(names: string[]): Promise<Record<string, NftSetElement[]>> {
    const out: Record<string, NftSetElement[]> = {};
    for (const n of names) out[n] = (await this.d.system.nftSetElements(TABLE, n).catch(() => undefined)) ?? [];
    return out;
  }

  private async tableHandle(): Promise<number | undefined> {
    return tableOf(await this.d.system.nftList(TABLE, { full: [] }))?.handle;
  }

  /**
   * Our table must still be there, be the one we made, and carry our generation. If not,
   * the loop applies it again (through its backoff, so a refusing nft is no retry storm).
   */
  private async verify(): Promise<void> {
    this.lastVerify = Date.now();
    if (this.busy) await this.busy.catch(() => undefined);
    if (!this.applied || !firewallEnabled(this.d.config())) return;
    // Terse (no map elements): every 2 s, a big table's listing must not be parsed here.
    const listing = await this.d.system.nftList(TABLE, { full: [GENERATION_SET] });
    const table = tableOf(listing);
    if (table && table.handle === this.handle && readGeneration(listing) === this.generation) return;
    const why = !table ? 'our table is gone (nft flush ruleset?)' : 'our table was replaced or changed by someone else';
    this.d.log.warn(`firewall: ${why}; restoring it`);
    this.d.bus.publish({ type: 'firewall', generation: this.generation, ok: false, message: `${why}; restoring` });
    this.restored++;
    this.applied = undefined;
    this.d.onTampered?.(`firewall: ${why}`);
  }

  /** Firewall turned off, or `quit --teardown`: our table goes (it is ours by name); nothing else is touched. */
  async remove(): Promise<void> {
    if (this.applied === undefined && this.absent) return;
    if (this.applied === undefined && !(await this.d.system.nftList(TABLE, { full: [] }))) {
      this.absent = true;
      return;
    }
    await this.d.system.nft({
      nftables: [
        { add: { table: { family: 'inet', name: TABLE } } },
        { delete: { table: { family: 'inet', name: TABLE } } },
      ],
    });
    this.applied = undefined;
    this.armed = new Set();
    this.absent = true;
    this.d.log.info('firewall: disabled; table inet uplinkd removed');
  }
}
