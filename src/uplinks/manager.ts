/**
 * Runs every configured uplink: facts from the world, one pure check() per
 * uplink, transitions as events, and the selection (judge); drivers are told what
 * desired() wants (connect). Called from the reconcile loop; health rounds and
 * driver changes only mark the loop dirty.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { EventBus } from '../events/bus.js';
import { routedTables, selectionTable, uplinkTables } from '../routing/tables.js';
import { selectUplinks, type Selection } from '../routing/select.js';
import { routedEntries, routedMoves, type RoutedEntry } from '../routing/routed.js';
import type { System, ProbeRunner } from '../system/system.js';
import type { WorldState } from '../world/state.js';
import { CommandDriver } from './command.js';
import { DhcpClient, installDhcpScript } from './dhcp.js';
import { dhcpDesired, releaseDhcp } from './dhcp-uplink.js';
import { solicitRouters } from './solicit.js';
import { factsKey, linkFacts, missingTableDefault } from './facts.js';
import { HealthChecker } from './health.js';
import { loadState, saveState, STATE_VERSION, type SavedState } from './persist.js';
import type { AdminOverrides } from '../model/admin-overrides.js';
import { adminChange, type AdminAction } from './admin.js';
import { UplinkError } from '../errors.js';
import { VERSION } from '../version.js';
import type { UplinkVerdict, Verdicts } from '../reconcile/desired.js';
import type { RoutedUplink } from '../routing/desired.js';
import type { Component } from '../model/component.js';
import { check, isUsable } from './state.js';
import { account } from './availability.js';
import { effectiveProbe, newUplink, probeReady, savedUplink, tableRouted, thresholds, type Uplink } from './uplink.js';

export interface ManagerDeps {
  config: () => Config;
  system: System;
  bus: EventBus;
  log: Logger;
  stateFile: string;
  onDirty: (why: string) => void;
  /** Probes wait while this says so (the firewall's first apply, with its probe notrack rule). */
  probesHeld?: () => boolean;
  /** While an apply is pending: last-good's uplinks, which the pending config's removals park. */
  parkable?: () => Config['uplinks'] | undefined;
}

/** States that say the link itself is not there (no carrier, no interface, no address). */
const LINK_GONE = new Set<Uplink['state']>(['down', 'connecting']);

export class UplinkManager implements Component {
  readonly name = 'uplinks';
  /** Owned here: other modules read uplinks, and change them only through the methods below. */
  private readonly all = new Map<string, Uplink>();
  /**
   * Uplinks the pending apply removed: still probed and connected, in their own table, but
   * never selected, so a rollback finds them judged and carrying at once. Confirm ends them.
   */
  private readonly parked = new Map<string, Uplink>();

  get uplinks(): ReadonlyMap<string, Readonly<Uplink>> {
    return this.all;
  }

  get parkedUplinks(): ReadonlyMap<string, Readonly<Uplink>> {
    return this.parked;
  }
  private prober?: ProbeRunner;
  forced?: string;
  selection: Selection = { order: [], reason: 'not evaluated yet', ranked: [] };
  private saving = Promise.resolve();
  /** DHCP clients starting: the first judgement must know their leases (or it judges the uplinks without addresses). */
  private dhcpStarts: Promise<void>[] = [];
  /** The udhcpc script, installed once (the state dir is restart-only). */
  private dhcpScript?: Promise<string>;
  /** Each routed LAN entry's carrier at the last judgement (undefined: on its fallback). */
  private readonly routedCarrier = new Map<number, string | undefined>();
  /** What was last written: the state file changes on state changes, not on every probe round (flash wears). */
  private savedKey?: SavedState;

  constructor(private readonly d: ManagerDeps) {}

  /** The udhcpc script, once per daemon; a failed install is tried again by the next client. */
  private installScript(stateDir: string): Promise<string> {
    this.dhcpScript ??= installDhcpScript(this.d.system, stateDir).catch((e) => {
      this.dhcpScript = undefined;
      throw e;
    });
    return this.dhcpScript;
  }

  /** Adopts where the state file left off: judged states, admin actions, connect processes. */
  async start(): Promise<void> {
    const dir = this.d.config().control.state_dir;
    const { tightenedFrom } = await this.d.system.store.ensureDir(dir);
    if (tightenedFrom !== undefined)
      this.d.log.warn(
        { dir, was: `0${tightenedFrom.toString(8)}` },
        `state dir ${dir} was readable by others (0${tightenedFrom.toString(8)}); made it 0700`,
      );
    const saved = await loadState(this.d.system.store, this.d.stateFile);
    this.prober = this.d.system.prober();
    await this.prober.start();
    this.forced = saved?.forced;
    if (saved?.selected)
      // ranked stays empty until judged: the routed tables' routes are kept meanwhile (deletions wait).
      this.selection = {
        order: [saved.selected],
        selected: saved.selected,
        reason: 'adopted from the state file',
        ranked: [],
      };
    this.sync(saved);
    await Promise.all(this.dhcpStarts);
    this.dhcpStarts = [];
  }

  /** Stops probing and dialing; connect processes keep running (hitless restart). */
  async stop(): Promise<void> {
    // A dial that started since the last evaluation must be in the file, or the next daemon dials twice.
    this.persist();
    await Promise.all(
      [...this.all.values(), ...this.parked.values()].map(async (u) => {
        await u.health.stop();
        await u.driver?.stop(false);
        await u.dhcp?.stop(false);
      }),
    );
    await this.prober?.stop();
    await this.saving;
  }

  /** `quit --teardown`, after stop(): hangs every connect process up and forgets the state file. */
  async teardown(): Promise<void> {
    await Promise.all(
      [...this.all.values(), ...this.parked.values()].map((u) =>
        Promise.all([u.driver?.stop(true), releaseDhcp(u, this.d.system, this.d.log)]),
      ),
    );
    this.all.clear();
    this.parked.clear();
    await this.d.system.store.remove(this.d.stateFile);
  }

  /** Adds and removes uplinks to match the config (start and reload). */
  sync(saved?: SavedState): void {
    const cfg = this.d.config();
    const tables = uplinkTables(cfg);
    this.syncParked(cfg, saved);
    for (const u of this.all.values())
      if (!cfg.uplinks[u.name] || cfg.uplinks[u.name].interface !== u.cfg.interface) void this.remove(u, true);
    Object.entries(cfg.uplinks).forEach(([name, ucfg], index) => {
      const have = this.all.get(name);
      if (have && !!have.driver === !!ucfg.connect && !!have.dhcp === (ucfg.address === 'dhcp')) {
        Object.assign(have, { index, table: tables.get(name)! });
        if (!isDeepStrictEqual(have.cfg, ucfg)) this.reconfigure(have, ucfg);
        return;
      }
      if (have) void this.remove(have, true);
      this.all.set(name, this.add(name, ucfg, index, tables.get(name)!, saved?.uplinks[name]));
    });
    this.placeParked(cfg);
    if (this.forced && !cfg.uplinks[this.forced]) this.forced = undefined;
  }

  /**
   * Parks what the pending config removed (and, at a start mid-countdown, adopts the parked
   * ones the state file has); a parked uplink the config names again goes back to `all`; one
   * no apply keeps any more (confirm) is removed and hung up.
   */
  private syncParked(cfg: Config, saved?: SavedState): void {
    const parkable = this.d.parkable?.() ?? {};
    // Not when the pending config runs another uplink on that interface (a rename): two clients would fight over it.
    const used = new Set(Object.values(cfg.uplinks).map((u) => u.interface));
    const keeps = (name: string, iface: string) =>
      !cfg.uplinks[name] && parkable[name]?.interface === iface && !used.has(iface);
    for (const u of this.parked.values()) {
      if (keeps(u.name, u.cfg.interface)) continue;
      this.parked.delete(u.name);
      if (cfg.uplinks[u.name] && !this.all.has(u.name)) this.all.set(u.name, u);
      else void this.remove(u, true);
    }
    for (const u of this.all.values()) {
      if (!keeps(u.name, u.cfg.interface)) continue;
      this.all.delete(u.name);
      this.parked.set(u.name, u);
      u.parkedWant = !!u.driver?.running;
      this.d.log.info(`${u.name}: removed by the pending apply; kept probing until confirm`);
    }
    for (const [name, s] of Object.entries(saved?.uplinks ?? {})) {
      const ucfg = parkable[name];
      if (!ucfg || !keeps(name, ucfg.interface) || this.parked.has(name)) continue;
      const table = uplinkTables({ control: cfg.control, uplinks: parkable }).get(name)!;
      const u = this.add(name, ucfg, 0, table, s);
      u.parkedWant = !!s.pid;
      this.parked.set(name, u);
    }
  }

  /**
   * A parked uplink keeps its table unless the pending config uses that number (a moved table
   * would read as "no default route" for a round, and a rollback would then wait for probes);
   * its rule slot comes after the config's, so confirming moves no other uplink.
   */
  private placeParked(cfg: Config): void {
    if (!this.parked.size) return;
    const k = cfg.control.kernel;
    const taken = new Set([selectionTable(k), ...uplinkTables(cfg).values(), ...routedTables(cfg).values()]);
    let next = k.table_base + 1;
    let index = Object.keys(cfg.uplinks).length;
    for (const u of this.parked.values()) {
      if (taken.has(u.table) || !u.table) {
        while (taken.has(next)) next++;
        u.table = next;
      }
      taken.add(u.table);
      u.index = index++;
    }
  }

  private add(
    name: string,
    ucfg: Config['uplinks'][string],
    index: number,
    table: number,
    saved: SavedState['uplinks'][string] | undefined,
  ): Uplink {
    const cfg = this.d.config();
    const log = this.d.log.child({ uplink: name });
    const u = newUplink(name, index, table, ucfg, saved);
    u.health = this.newHealth(u, cfg);
    if (ucfg.connect) {
      u.driver = new CommandDriver({
        name,
        system: this.d.system,
        cfg: ucfg,
        log,
        env: { UPLINK: name, IFACE: ucfg.interface },
        logFile: `${cfg.control.state_dir}/${name}.connect.log`,
        onChange: (why) => this.d.onDirty(`${name}: ${why}`),
        onDial: (attempt, lost) => {
          // A new connection is judged afresh: the last one's failures must not fail it unprobed.
          u.health.reset();
          this.d.bus.publish({
            type: 'uplink',
            name,
            event: 'dial',
            state: u.state,
            reason: lost
              ? `re-dial attempt ${attempt}: ${lost.what} at ${new Date(lost.at).toISOString()}`
              : `dial attempt ${attempt}`,
            ...(lost ? { redial: { attempt, lost: lost.what, at: new Date(lost.at).toISOString() } } : {}),
          });
        },
      });
      if (saved?.dial) u.driver.restore(saved.dial);
      if (saved?.pid && saved.startTime) u.driver.adopt(saved.pid, saved.startTime);
    }
    if (ucfg.address === 'dhcp') {
      u.dhcp = new DhcpClient({
        name,
        iface: ucfg.interface,
        stateDir: cfg.control.state_dir,
        system: this.d.system,
        log,
        onChange: (why) => this.d.onDirty(`${name}: ${why}`),
        script: () => this.installScript(cfg.control.state_dir),
      });
      this.dhcpStarts.push(u.dhcp.start(saved?.dhcp).catch((e) => log.error({ err: e }, `${name}: cannot start DHCP`)));
    }
    u.health.start();
    return u;
  }

  /**
   * A reload changed an uplink: keep its judged state (it stays usable until the
   * new probes have judged it, like an adopted one) and its connection; restart
   * only its probing with the new settings. A reload must not move traffic.
   */
  private reconfigure(u: Uplink, ucfg: Uplink['cfg']): void {
    const cfg = this.d.config();
    const old = u.health;
    u.cfg = ucfg;
    u.adopted = u.state === 'up' || u.state === 'degraded';
    u.health = this.newHealth(u, cfg);
    void old.stop();
    u.driver?.reconfigure(ucfg);
    u.health.start();
  }

  private newHealth(u: Uplink, cfg: Config): HealthChecker {
    return new HealthChecker({
      probe: effectiveProbe(cfg, u.cfg),
      mark: cfg.control.kernel.fwmark,
      prober: this.prober!,
      log: this.d.log.child({ uplink: u.name }),
      source: () => ({
        ready: probeReady(u) && !this.d.probesHeld?.(),
        iface: u.cfg.interface,
        address4: u.facts.v4?.address,
        address6: u.facts.v6?.address,
        gateway4: u.facts.v4?.gateway,
        gateway6: u.facts.v6?.gateway,
      }),
      onRound: () => this.d.onDirty(`probe round of ${u.name}`),
    });
  }

  private async remove(u: Uplink, teardown: boolean): Promise<void> {
    if (this.all.get(u.name) === u) this.all.delete(u.name);
    if (this.parked.get(u.name) === u) this.parked.delete(u.name);
    await u.health.stop();
    await u.driver?.stop(teardown);
    if (teardown) await releaseDhcp(u, this.d.system, this.d.log);
    else await u.dhcp?.stop(false);
  }

  /**
   * One judgement: facts from the world → one pure check() per uplink → transitions as
   * events → the selection. The uplinks' runtime state is written here (and by the admin and
   * demand methods below) alone; what it returns is plain data for desired().
   */
  judge(w: WorldState, now: number): Omit<Verdicts, 'proxies'> {
    const cfg = this.d.config();
    let changed = false;
    for (const u of this.all.values()) changed = this.evaluateOne(u, w, now, cfg) || changed;
    for (const u of this.parked.values()) changed = this.evaluateOne(u, w, now, cfg) || changed;
    const prev = this.selection.selected;
    this.selection = selectUplinks({ candidates: this.candidates(), forced: this.forced, current: prev, now });
    if (this.selection.selected !== prev) {
      changed = true;
      this.d.log.info(
        { selected: this.selection.selected, prev, reason: this.selection.reason },
        `selected ${this.selection.selected ?? 'nothing'}`,
      );
      this.d.bus.publish({ type: 'selection', selected: this.selection.selected, prev, reason: this.selection.reason });
    }
    if (changed) this.persist();
    const verdicts = this.verdicts();
    this.reportRouted(cfg, verdicts);
    return verdicts;
  }

  /** Judged, and not on its way up: what it can carry now is worth reporting. */
  private settled(name: string): boolean {
    const u = this.all.get(name);
    return !u || (u.state !== 'verifying' && (u.health.stats.rounds > 0 || !probeReady(u) || u.adminDown));
  }

  /** Routed prefixes that moved to another via uplink, onto their fallback, or back: a log line and an event. */
  private reportRouted(cfg: Config, v: Omit<Verdicts, 'proxies'>): void {
    const ready = (e: RoutedEntry) => e.via.every((name) => this.settled(name));
    for (const m of routedMoves(routedEntries(cfg, v), this.routedCarrier, ready)) {
      const log = m.carrier === undefined ? this.d.log.warn.bind(this.d.log) : this.d.log.info.bind(this.d.log);
      log({ interface: m.entry.interface, carrier: m.carrier, prev: m.prev }, `routed ${m.message}`);
      this.d.bus.publish({
        type: 'routed',
        interface: m.entry.interface,
        prefixes: m.entry.prefixes,
        ...(m.carrier ? { carrier: m.carrier } : {}),
        ...(m.prev ? { prev: m.prev } : {}),
        fallback: m.entry.fallback,
        message: m.message,
      });
    }
  }

  /** The last judgement, as plain data (`uplink plan` reads it without judging again). */
  verdicts(): Omit<Verdicts, 'proxies'> {
    const uplinks = new Map<string, UplinkVerdict>();
    for (const u of this.all.values()) {
      uplinks.set(u.name, {
        iface: u.cfg.interface,
        facts: u.facts,
        familyOk: { 4: this.familyOk(u, 4), 6: this.familyOk(u, 6) },
        adminDown: u.adminDown,
        adminBlocked: u.adminBlocked,
        scheduleHeld: !!u.scheduleHeld,
        dialRequested: u.dialRequested,
        demandWanted: u.demandWanted,
        ...(u.dhcpWant ? { dhcp: u.dhcpWant } : {}),
        state: u.state,
        usable: this.usable(u),
      });
    }
    return {
      uplinks,
      order: this.selection.order,
      selected: this.selection.selected,
      ranked: this.selection.ranked,
      ...(this.parked.size ? { parked: [...this.parked.values()].map((u) => this.parkedRoutes(u)) } : {}),
    };
  }

  /** What keeps a parked uplink probe-able: its address, its table and its `from` rule. */
  private parkedRoutes(u: Uplink): RoutedUplink {
    return {
      name: u.name,
      table: u.table,
      index: u.index,
      dev: u.cfg.interface,
      facts: u.facts,
      familyOk: { 4: this.familyOk(u, 4), 6: this.familyOk(u, 6) },
      ...(u.cfg.address && u.cfg.address !== 'dhcp' ? { staticAddress: u.cfg.address } : {}),
      ...(u.dhcpWant ? { dhcp: u.dhcpWant } : {}),
    };
  }

  /** Tells each connect command's driver whether it should run (level-triggered; desired() decides). */
  connect(want: ReadonlyMap<string, boolean>, now: number): void {
    for (const u of this.all.values()) {
      if (u.driver) u.driver.ensure(want.get(u.name) ?? false, now, u.hangupWhy ? 'idle' : 'admin');
    }
    // Parked: connected as they were when the apply removed them (a rollback must not wait for a dial).
    for (const u of this.parked.values()) u.driver?.ensure(!!u.parkedWant, now);
  }

  /** `uplink up|down|force|block|unblock NAME`. */
  admin(action: AdminAction, name: string): string {
    const u = this.all.get(name);
    if (!u)
      throw new UplinkError(
        'UNKNOWN_UPLINK',
        `no uplink named "${name}"`,
        `configured uplinks: ${[...this.all.keys()].join(', ') || 'none'}`,
      );
    if (action === 'force') {
      this.forced = name;
      return `traffic pinned to ${name}`;
    }
    const c = adminChange(action);
    Object.assign(u, c.set);
    if (c.unblockDriver) u.driver?.unblock();
    return `${name}: ${c.message}`;
  }

  /** The schedule's windows now: held uplinks are not dialed nor selected (their reason says which window). */
  hold(held: ReadonlyMap<string, string>): void {
    let changed = false;
    for (const u of this.all.values()) {
      const why = held.get(u.name);
      if (why === u.scheduleHeld) continue;
      u.scheduleHeld = why;
      changed = true;
    }
    if (changed) this.d.onDirty('schedule window');
  }

  /** `uplink unforce`. */
  unforce(): string {
    const was = this.forced;
    this.forced = undefined;
    return was ? `no longer pinned to ${was}; automatic selection` : 'automatic selection (nothing was forced)';
  }

  /** The admin's overrides now (a confirmed apply restores them on rollback). */
  adminOverrides(): AdminOverrides {
    const uplinks = Object.fromEntries(
      [...this.all.values()].map((u) => [
        u.name,
        { adminDown: !!u.adminDown, adminBlocked: !!u.adminBlocked, demandOff: !!u.demandOff },
      ]),
    );
    return { ...(this.forced ? { forced: this.forced } : {}), uplinks };
  }

  /**
   * A rollback: the overrides as they were, and no failback delay or return hysteresis
   * holding the restored selection back (the admin is waiting to get back in).
   */
  restoreAdmin(o: AdminOverrides, now: number): void {
    this.forced = o.forced && this.all.has(o.forced) ? o.forced : undefined;
    for (const u of this.all.values()) {
      const saved = o.uplinks[u.name];
      if (saved) Object.assign(u, saved);
      u.returning = false;
      if (u.goodSince !== undefined) u.goodSince = Math.min(u.goodSince, now - u.cfg.failback_delay);
    }
    this.persist();
  }

  /** `uplink demand NAME on|off`: whether traffic may dial this demand uplink. */
  setDemandEnabled(name: string, on: boolean): void {
    const u = this.all.get(name);
    if (u) u.demandOff = !on;
    this.persist();
  }

  private evaluateOne(u: Uplink, w: WorldState, now: number, cfg: Config): boolean {
    const lease = u.dhcp?.lease();
    u.facts = linkFacts(w, u.cfg, lease && { address: lease.address, gateway: lease.gateway });
    solicitRouters(u, w, now, this.d.system, this.d.log);
    const dhcpChanged = dhcpDesired(u, w);
    const hadTable = tableRouted(u);
    u.tableMissing = missingTableDefault(w, u.facts, u.table, cfg.control.kernel.route_protocol);
    // Its route just went in: probe now, not at the next tick.
    if (!hadTable && tableRouted(u)) u.health.kick();
    const gwFamilies = ([4, 6] as const).filter((f) => u.facts[f === 4 ? 'v4' : 'v6']?.gateway);
    const routed = [...w.rules.values()].some((r) => r.table === u.table && r.src !== undefined);
    if (routed !== u.routed) {
      u.routed = routed;
      if (routed) u.health.kick();
    }
    const key = factsKey(u.facts);
    if (key !== u.factsKey) {
      // The link came, went or changed address: judge it afresh, at once.
      if (u.factsKey) u.health.reset();
      u.factsKey = key;
      u.health.kick();
    }
    const drv = u.driver;
    const all = u.health.stats.view();
    // Quality is judged on the best family: an uplink whose IPv6 is dead but whose IPv4 is
    // clean is up (and carries IPv4 only), not degraded by the IPv6 probes' losses.
    const fams = ([4, 6] as const).map((f) => u.health.family[f].view()).filter((v) => v.rounds > 0);
    const stats = { ...all, lossPct: fams.length ? Math.min(...fams.map((v) => v.lossPct)) : all.lossPct };
    if (u.adopted && stats.rounds > 0) u.adopted = false;
    const v = check({
      prev: u.state,
      driver: drv ? 'command' : 'interface',
      adminDown: u.adminDown,
      blocked: u.adminBlocked
        ? 'blocked by the admin'
        : u.scheduleHeld
          ? `held by the schedule: ${u.scheduleHeld}`
          : drv?.gaveUpReason,
      running: drv?.running ?? false,
      holdoff: drv?.holdoff ?? false,
      present: u.facts.present,
      carrier: u.facts.carrier,
      hasAddress: !!(u.facts.v4 || u.facts.v6),
      waitingFor: u.dhcp && !lease ? 'no DHCP lease' : undefined,
      hasGateway: !!(u.facts.v4?.gateway || u.facts.v6?.gateway),
      health: stats,
      t: thresholds(cfg, u.cfg),
      // A dial-up link is judged afresh on each dial; hysteresis is for links that flap.
      returning: !drv && u.returning,
      noTableRoute:
        gwFamilies.length && gwFamilies.every((f) => u.tableMissing[f])
          ? `no default route in table ${u.table}`
          : undefined,
    });
    // An adopted uplink keeps its judged state until its first round, if its link is still there.
    const keep = u.adopted && (u.state === 'up' || u.state === 'degraded') && v.state === 'verifying';
    const changed = !keep && (v.state !== u.state || v.reason !== u.reason);
    if (!keep && v.state !== u.state) this.transition(u, v.state, v.reason, now);
    else if (!keep) u.reason = v.reason;
    // Good = up with no failed round since: a lossy link whose window happens to look clean for a
    // moment must still pass every round for its whole failback delay before it wins traffic back.
    const good = (u.state === 'up' && stats.failStreak === 0) || (keep && u.state !== 'degraded');
    u.goodSince = good ? (u.goodSince ?? now) : undefined;
    if (drv && (u.state === 'up' || u.state === 'degraded')) drv.markUp();
    if (drv && u.state === 'failed') drv.probeFailed();
    return changed || dhcpChanged;
  }

  private transition(u: Uplink, state: Uplink['state'], reason: string, now: number): void {
    const prev = u.state;
    if (state === 'up' || state === 'degraded') u.returning = false;
    else if (LINK_GONE.has(state) && (prev === 'up' || prev === 'degraded' || prev === 'failed')) u.returning = true;
    account(u.availability, prev, now);
    u.state = state;
    u.since = now;
    u.reason = reason;
    this.d.log.info({ uplink: u.name, state, prev, reason }, `${u.name}: ${prev} → ${state} (${reason})`);
    this.d.bus.publish({ type: 'uplink', name: u.name, event: 'state', state, prev, reason });
    // A blocked event is for trouble (a give-up): the admin's block and a schedule window are not.
    if (state === 'blocked' && !u.adminBlocked && !u.scheduleHeld)
      this.d.bus.publish({ type: 'uplink', name: u.name, event: 'blocked', state, reason });
  }

  /**
   * Traffic wants a demand uplink (true: dial now, no holdoff) or its idle time ran out
   * (false: hang up through the driver, with no holdoff afterwards).
   */
  setDemand(name: string, want: boolean, why: 'traffic' | 'idle' | 'max_up'): void {
    const u = this.all.get(name);
    if (!u || u.demandWanted === want) return;
    u.demandWanted = want;
    u.hangupWhy = want ? undefined : why === 'traffic' ? undefined : why;
    this.d.log.info(
      { uplink: name, why },
      want ? `${name}: traffic asks for the link` : `${name}: hanging up (${why})`,
    );
    this.persist();
    this.d.onDirty(`${name}: demand ${want ? 'dial' : why}`);
  }

  usable(u: Uplink): boolean {
    return isUsable(u.state, { adopted: u.adopted, driver: u.driver ? 'command' : 'interface', mode: u.cfg.mode });
  }

  private candidates() {
    return [...this.all.values()]
      .sort((a, b) => a.index - b.index)
      .map((u) => ({
        name: u.name,
        // A manual (or not yet demand-driven) uplink takes part once the admin brought it up.
        mode:
          (u.cfg.mode === 'manual' || u.cfg.mode === 'demand') && (u.dialRequested || u.demandWanted)
            ? ('backup' as const)
            : u.cfg.mode,
        priority: u.cfg.priority,
        usable: this.usable(u),
        healthy: u.state !== 'degraded',
        goodSince: u.goodSince,
        failbackDelayMs: u.cfg.failback_delay,
      }));
  }

  /**
   * Whether this uplink may carry a family: its probes of that family (if it has any) have not
   * failed `down_after` rounds in a row, and (once judged) its table has the family's default.
   */
  familyOk(u: Uplink, family: 4 | 6): boolean {
    const s = u.health.family[family];
    if (s.rounds === 0) return true;
    return s.failStreak < thresholds(this.d.config(), u.cfg).downAfter && !u.tableMissing[family];
  }

  /** When a held-back failback or a router solicitation becomes due: the loop must look again then. */
  nextWakeAt(now: number): number | undefined {
    let at: number | undefined;
    for (const u of this.all.values()) {
      const rs = u.solicit?.nextAt;
      if (rs !== undefined && rs > now && (at === undefined || rs < at)) at = rs;
      if (u.goodSince === undefined || u.name === this.selection.selected) continue;
      const due = u.goodSince + u.cfg.failback_delay;
      if (due > now && (at === undefined || due < at)) at = due;
    }
    return at;
  }

  /** Every uplink that can be probed has finished a round (or was never probe-able). */
  allJudged(): boolean {
    return [...this.all.values()].every((u) => u.health.stats.rounds > 0 || !probeReady(u) || u.adminDown);
  }

  persist(): void {
    // Parked uplinks too: a daemon restarted mid-countdown adopts their connections again.
    const uplinks = Object.fromEntries(
      [...this.all.values(), ...this.parked.values()].map((u) => [u.name, savedUplink(u)]),
    );
    const s: SavedState = {
      version: STATE_VERSION,
      writtenBy: VERSION,
      selected: this.selection.selected,
      forced: this.forced,
      uplinks,
    };
    const key = {
      ...s,
      uplinks: Object.fromEntries(Object.entries(s.uplinks).map(([n, u]) => [n, { ...u, since: 0 }])),
    };
    if (isDeepStrictEqual(key, this.savedKey)) return;
    this.savedKey = key;
    this.saving = this.saving
      .then(() => saveState(this.d.system.store, this.d.stateFile, s))
      .catch((e) => this.d.log.error({ err: e }, 'cannot write the state file'));
  }
}
