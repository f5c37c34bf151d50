/**
 * Starts and stops the daemon's components and wires them together. The
 * constructor does nothing; start() takes the lock before anything else, starts the
 * components in order, and stop() stops them in reverse, exactly once, leaving kernel
 * state as it is (hitless restarts) unless asked to tear down.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { Offload } from '../offload/pool.js';
import { renderRuleset, type FirewallInput } from '../firewall/render.js';
import type { Config } from '../config/schema.js';
import { refuseRestartOnly } from '../config/restart-only.js';
import { ControlServer } from '../control/server.js';
import { controlMethods, gated } from '../control/methods.js';
import type { HttpApi } from '../control/http/api.js';
import type { Metrics } from '../control/http/metrics.js';
import { httpApi, systemdNotifier } from './operator.js';
import type { SystemdNotifier } from './sd-notify.js';
import { buildStatus } from '../control/status.js';
import { ConfigDrift } from './config-drift.js';
import { effectiveProbe } from '../uplinks/uplink.js';
import { routedEntries } from '../routing/routed.js';
import type { KernelWatch } from '../system/kernel.js';
import type { InstanceLockHandle, System } from '../system/system.js';
import type { Component } from '../model/component.js';
import { World } from '../world/world.js';
import type { AdminAction } from '../uplinks/admin.js';
import { UplinkManager } from '../uplinks/manager.js';
import { JobManager, type JobAction } from '../jobs/manager.js';
import { Hooks } from '../hooks/hooks.js';
import { carriedFamilies, uplinkView } from '../uplinks/view.js';
import { firewallEnabled } from '../firewall/input.js';
import { Firewall } from '../firewall/apply.js';
import { Demand } from '../demand/demand.js';
import { stateFile } from '../uplinks/persist.js';
import { EventBus } from '../events/bus.js';
import { Reconciler } from './reconciler.js';
import { VERSION } from '../version.js';
import { LoopDelay } from './loop-delay.js';
import { memoryNow } from './memory.js';
import { WarningWatch } from './warnings.js';
import { ConfirmedApply } from '../apply/confirmed.js';
import { configChanges } from '../apply/changes.js';
import type { ApplyRecord, StartDecision } from '../apply/record.js';
import { parseConfigText } from '../config/load.js';
import { UplinkError } from '../errors.js';
import type { AdminOverrides } from '../model/admin-overrides.js';
import { Scheduler } from '../schedule/scheduler.js';
import { Notifier } from '../notify/notifier.js';
import { Announcer } from '../announce/announcer.js';
import { Redactor } from '../model/redact.js';
import { checkSecretRefs, type Secrets } from '../config/secrets.js';
import type { ScheduleConfig } from '../config/schema.js';

/** Rulesets with more forwards than this are rendered in the offload worker (1,000 take ~12 ms here). */
const RENDER_INLINE_MAX = 200;

/** Uplinks probing at least this often get the carrier fast path (watchCarrier). */
const FAST_CARRIER_INTERVAL_MS = 1000;
export interface ControllerOptions {
  configPath: string;
  config: Config;
  system: System;
  log: Logger;
  onStopped?: () => void;
  /** --socket / --state-dir: they win over the file at start and on every reload. */
  overrides?: { socket?: string; state_dir?: string };
  /** The log's redactor: the controller tells it the secret values it loads. */
  redactor?: Redactor;
}

export class Controller {
  private readonly redactor: Redactor;
  readonly bus: EventBus;
  /** The running config's secrets (empty without a secrets file). */
  private secrets: Secrets = new Map();
  /** Secrets read while checking a config that is about to run. */
  private readonly checkedSecrets = new WeakMap<Config, Secrets>();
  private config!: Config;
  /** The text the running config was parsed from: what a rollback returns to. */
  private configText = '';
  private applyer!: ConfirmedApply;
  private lastGoodParsed?: { text: string; uplinks: Config['uplinks'] };
  private resuming?: ApplyRecord;
  private world?: World;
  private watch?: KernelWatch;
  private reconciler?: Reconciler;
  private manager?: UplinkManager;
  private firewall?: Firewall;
  private demand?: Demand;
  private jobs?: JobManager;
  private hooks?: Hooks;
  private scheduler?: Scheduler;
  private notifier?: Notifier;
  private announcer?: Announcer;
  private server?: ControlServer;
  private http?: HttpApi;
  private metrics?: Metrics;
  private systemd?: SystemdNotifier;
  private lock?: InstanceLockHandle;
  /** In start order; stopped in reverse. Only those that started. */
  private started: Component[] = [];
  private stopping?: Promise<void>;
  /** start() has ended: every method is served. */
  private running = false;
  private readonly offload = new Offload();
  private readonly loopDelay = new LoopDelay();
  private warnings!: WarningWatch;
  private drift?: ConfigDrift;
  private readonly startedAt = new Date().toISOString();

  constructor(private readonly o: ControllerOptions) {
    this.redactor = o.redactor ?? new Redactor();
    this.bus = new EventBus(undefined, undefined, this.redactor);
  }

  async start(): Promise<void> {
    const { log, system } = this.o;
    this.config = this.o.config;
    const ctl = this.config.control;
    this.lock = system.lock(`${ctl.socket}.lock`);
    this.configText = (await system.store.read(this.o.configPath)) ?? '';
    this.applyer = this.confirmedApply();
    const decision = this.startOn(await this.applyer.load());
    // The countdown resumes once the components run; the manager parks from its record before that.
    this.resuming = decision.kind === 'resume' ? decision.record : undefined;
    // A secrets file others can read stops the start, with the chmod that fixes it.
    this.useSecrets(await this.readSecrets(this.config));
    try {
      for (const c of this.components()) {
        await c.start();
        this.started.push(c);
        if (c === this.manager) this.watchCarrier();
      }
    } catch (e) {
      await this.stopComponents(false);
      throw e;
    }
    if (decision.kind === 'confirmed') await this.applyer.confirmedAtStart(decision.record);
    if (decision.kind === 'resume') this.applyer.resume(decision.record, decision.leftMs);
    this.resuming = undefined;
    if (decision.kind === 'rollback') {
      this.restoreOverrides(decision.record.lastGood.overrides);
      await this.applyer.rolledBackAtStart(decision.record, decision.why);
    }
    await this.warnFileModes();
    this.running = true;
    this.bus.publish({ type: 'daemon', message: `started (pid ${process.pid}, ${system.kind})` });
    log.info({ socket: ctl.socket, uplinks: Object.keys(this.config.uplinks) }, 'uplinkd started');
  }

  /**
   * A pending apply found at start: run its config (same boot, before the deadline) or
   * last-good's. A config file that already holds the pending bytes was confirmed (a crash
   * cut the confirm short); a pending config that no longer loads (a stricter upgrade) is
   * rolled back, never resumed, or a confirm would write it.
   */
  private startOn(found: StartDecision): StartDecision | { kind: 'confirmed'; record: ApplyRecord } {
    if (found.kind === 'none') return found;
    if (this.configText === found.record.pending) return { kind: 'confirmed', record: found.record };
    let d = found;
    if (d.kind === 'resume' && !this.tryStartOn(d.record.pending, d.record.file))
      d = { kind: 'rollback', record: d.record, why: 'the pending config no longer loads' };
    if (d.kind === 'rollback') this.tryStartOn(d.record.lastGood.text, 'last-good config');
    return d;
  }

  private tryStartOn(text: string, file: string): boolean {
    try {
      const cfg = this.withOverrides(parseConfigText(text, file));
      refuseRestartOnly(this.config, cfg, 'apply');
      this.config = cfg;
      this.configText = text;
      return true;
    } catch (e) {
      this.o.log.error({ err: e, file }, `${file} no longer loads; starting on the config file`);
      return false;
    }
  }

  /** --socket / --state-dir win over any config text. */
  private withOverrides(cfg: Config): Config {
    Object.assign(
      cfg.control,
      Object.fromEntries(Object.entries(this.o.overrides ?? {}).filter(([, v]) => v !== undefined)),
    );
    return cfg;
  }

  private confirmedApply(): ConfirmedApply {
    return new ConfirmedApply({
      system: this.o.system,
      bus: this.bus,
      log: this.o.log.child({ component: 'apply' }),
      stateDir: () => this.config.control.state_dir,
      configPath: this.o.configPath,
      running: () => ({ text: this.configText, overrides: this.overridesNow() }),
      check: (text, file) => this.checkNext(text, file, 'apply'),
      load: async (text, file) => this.withOverrides(await this.offload.parseConfig(text, file)),
      swap: (cfg, text, why, restore) => this.swap(cfg, text, why, restore),
      stopping: () => this.stopping !== undefined,
      confirmed: () => {
        this.drift?.loaded(this.configText);
        this.manager?.sync();
        this.reconciler?.markDirty('apply confirmed: parked uplinks go', true);
      },
    });
  }

  private applyView() {
    const v = this.applyer.view();
    const parked = [...(this.manager?.parkedUplinks.values() ?? [])].map((u) => ({ name: u.name, state: u.state }));
    return v && { ...v, ...(parked.length ? { parked } : {}) };
  }

  /**
   * While an apply is pending: last-good's uplinks, which the manager parks. Kept by swap() when
   * the apply began; parsed (once) only when a restarted daemon resumes the countdown.
   */
  private parkable(): Config['uplinks'] | undefined {
    const text = (this.applyer.pending() ?? this.resuming)?.lastGood.text;
    if (text === undefined) return undefined;
    if (this.lastGoodParsed?.text !== text) {
      try {
        this.lastGoodParsed = { text, uplinks: parseConfigText(text, 'last-good config').uplinks };
      } catch {
        this.lastGoodParsed = { text, uplinks: {} }; // it ran before; if it no longer parses, park nothing
      }
    }
    return this.lastGoodParsed.uplinks;
  }

  private overridesNow(): AdminOverrides {
    return { ...this.manager!.adminOverrides(), jobsStopped: this.jobs!.stoppedJobs() };
  }

  private restoreOverrides(o: AdminOverrides): void {
    this.manager!.restoreAdmin(o, Date.now());
    this.jobs!.restoreStopped(o.jobsStopped ?? []);
    this.reconciler?.markDirty('admin overrides restored', true);
  }

  /** Parses and checks a config the daemon would switch to; throws a coded error and logs nothing. */
  private async checkNext(text: string, file: string, action: 'reload' | 'apply'): Promise<Config> {
    // In a worker: a big config takes seconds to validate, and failover must not wait for it.
    // Last-good must be the text that runs: an unread file must never become an empty config.
    if (action === 'apply' && !this.configText.trim())
      throw new UplinkError(
        'APPLY_NO_LAST_GOOD',
        `the running config's text is unknown (${this.o.configPath} could not be read at start); apply refused`,
        'make the config file readable and restart uplinkd, or use reload',
      );
    const next = this.withOverrides(await this.offload.parseConfig(text, file));
    refuseRestartOnly(this.config, next, action);
    this.checkedSecrets.set(next, await this.readSecrets(next));
    await this.firewall?.check(next);
    return next;
  }

  /** The config's secrets file, checked, with every name the config references in it. */
  private async readSecrets(cfg: Config): Promise<Secrets> {
    const secrets = cfg.secrets ? await this.o.system.readSecrets(cfg.secrets) : new Map<string, string>();
    checkSecretRefs(cfg, secrets);
    return secrets;
  }

  private useSecrets(s: Secrets): void {
    this.secrets = s;
    this.redactor.set(s.values());
  }

  /** A rollback's last-good config was checked when it ran; a secrets file broken since keeps the old values. */
  private async secretsOnSwap(next: Config): Promise<Secrets> {
    const checked = this.checkedSecrets.get(next);
    if (checked) return checked;
    try {
      return await this.readSecrets(next);
    } catch (e) {
      this.o.log.error({ error: (e as Error).message }, 'secrets file unusable; keeping the secrets loaded before');
      return this.secrets;
    }
  }

  /** Makes `next` the running config (reload, apply, rollback); a rollback also restores the overrides. */
  private async swap(next: Config, text: string, why: string, restore?: AdminOverrides): Promise<boolean> {
    const changed = !isDeepStrictEqual(next, this.config);
    // Leaving last-good for a pending apply: its uplinks are at hand, no parse needed (parkable()).
    const lastGood = this.applyer.pending()?.lastGood.text;
    if (lastGood === this.configText) this.lastGoodParsed = { text: lastGood, uplinks: this.config.uplinks };
    this.useSecrets(await this.secretsOnSwap(next));
    this.config = next;
    this.configText = text;
    this.manager?.sync();
    // Runners for the new jobs now (not at the next pass), so a rollback's `job stop` finds them.
    this.jobs?.syncConfig();
    await this.demand?.sync();
    this.scheduler?.sync();
    this.notifier?.sync();
    this.announcer?.sync();
    await this.http?.sync();
    this.watchCarrier();
    if (restore) this.restoreOverrides(restore);
    this.reconciler?.markDirty(why, !!restore);
    // The caller (reload, apply, rollback) answers once the kernel shows it, as admin commands do.
    await this.reconciler?.settle(10_000);
    return changed;
  }

  /**
   * The components in start order: the kernel watch fills the world first; the uplinks adopt
   * from the state file; the demand proxies are armed (TUN, then route and notrack rules by
   * the first runs) before the control socket first answers; the firewall's tamper check
   * starts once the first runs have applied a ruleset.
   */
  private components(): Component[] {
    const { log, system } = this.o;
    const ctl = this.config.control;
    const cfg = () => this.config;
    this.world = new World((reason, urgent) => this.reconciler?.markDirty(reason, urgent));
    this.warnings = new WarningWatch(log.child({ component: 'config' }));
    this.manager = new UplinkManager({
      config: cfg,
      system,
      bus: this.bus,
      log: log.child({ component: 'uplinks' }),
      stateFile: stateFile(ctl.state_dir),
      onDirty: (why) => this.reconciler?.markDirty(why),
      probesHeld: () => firewallEnabled(this.config) && !this.firewall?.settled,
      parkable: () => this.parkable(),
    });
    const offload = this.offload;
    // A small ruleset renders in a few ms; a big one would hold up probing and failover.
    const render = async (input: FirewallInput) =>
      input.forwards.length > RENDER_INLINE_MAX ? offload.renderRuleset(input) : renderRuleset(input);
    this.firewall = new Firewall({
      system,
      log: log.child({ component: 'firewall' }),
      bus: this.bus,
      config: cfg,
      render,
      onTampered: (why) => this.reconciler?.markDirty(why),
      onRuleset: (fn) => this.watch?.onRuleset?.(fn) ?? false,
    });
    this.demand = new Demand({
      system,
      log: log.child({ component: 'demand' }),
      bus: this.bus,
      config: cfg,
      manager: this.manager,
      world: this.world,
      onProxiesChanged: () => this.reconciler?.markDirty('demand proxies changed'),
    });
    this.hooks = new Hooks({
      config: cfg,
      system,
      bus: this.bus,
      log: log.child({ component: 'hooks' }),
      uplink: (name) => {
        const u = this.manager!.uplinks.get(name);
        if (!u) return undefined;
        const f = u.facts.v4 ?? u.facts.v6;
        return {
          iface: u.cfg.interface,
          state: u.state,
          ...(f?.address ? { address: f.address } : {}),
          ...(f?.gateway ? { gateway: f.gateway } : {}),
        };
      },
    });
    this.notifier = new Notifier({
      config: cfg,
      system,
      bus: this.bus,
      log: log.child({ component: 'notify' }),
      secrets: () => this.secrets,
      context: () => this.noticeContext(),
    });
    this.announcer = new Announcer({
      config: cfg,
      system,
      bus: this.bus,
      log: log.child({ component: 'announce' }),
      secrets: () => this.secrets,
      stateFile: () => `${this.config.control.state_dir}/announce.json`,
      uplink: (name) => {
        const u = this.manager!.uplinks.get(name);
        if (!u) return undefined;
        const address = u.facts.v4?.address ?? u.facts.v6?.address;
        return { iface: u.cfg.interface, ready: this.manager!.usable(u) && u.routed, ...(address ? { address } : {}) };
      },
    });
    this.scheduler = new Scheduler({
      config: cfg,
      clock: () => system.wallClock(),
      bus: this.bus,
      log: log.child({ component: 'schedule' }),
      act: (s) => this.scheduled(s),
      hold: (held) => this.manager!.hold(held),
    });
    this.jobs = new JobManager({
      config: cfg,
      system,
      bus: this.bus,
      log: log.child({ component: 'jobs' }),
      onDirty: (why) => this.reconciler?.markDirty(why),
    });
    this.reconciler = new Reconciler({
      system,
      world: this.world,
      manager: this.manager,
      jobs: this.jobs,
      firewall: this.firewall,
      demand: this.demand,
      bus: this.bus,
      log: log.child({ component: 'reconcile' }),
      config: cfg,
      afterRun: (world, c) => {
        const ms = this.reconciler?.status().last?.durationMs;
        if (ms !== undefined) this.metrics?.reconcileRan(ms);
        this.warnings.update(c, world, this.ipv6Carriers());
        this.announcer?.check();
        this.hooks?.addressesNow(
          new Map([...this.manager!.uplinks.values()].map((u) => [u.name, u.facts.v4?.address ?? u.facts.v6?.address])),
        );
      },
    });
    const k = ctl.kernel;
    const watch = system.kernelWatch(
      {
        protocol: k.route_protocol,
        tableBase: k.table_base,
        tableCount: k.table_count,
        rulePriorityBase: k.rule_priority_base,
        rulePriorityCount: k.rule_priority_count,
      },
      ctl.netlink_buffer,
      ctl.carrier_poll,
    );
    this.watch = watch;
    const world = this.world;
    const kernel: Component = { name: 'kernel watch', start: () => watch.start(world), stop: () => watch.stop() };
    // Served from the start (the socket answers first), but only what reads until the rest runs.
    const methods = gated(controlMethods(this.api()), () =>
      this.stopping ? 'stopping' : this.running ? undefined : 'starting',
    );
    this.server = new ControlServer(system, ctl.socket, methods, undefined, (l) => this.redactor.applyJson(l));
    const opDeps = {
      system,
      config: cfg,
      methods,
      bus: this.bus,
      log,
      status: () => this.api().status(),
      manager: () => this.manager!,
      redact: (json: string) => this.redactor.applyJson(json),
    };
    ({ http: this.http, metrics: this.metrics } = httpApi(opDeps));
    this.systemd = systemdNotifier(opDeps);
    this.drift = new ConfigDrift({
      system,
      path: this.o.configPath,
      running: () => this.configText,
      pending: () => this.applyer.pending() !== undefined,
    });
    const worker: Component = { name: 'offload worker', start: async () => undefined, stop: () => offload.close() };
    return [
      // First: exec -> an answering socket is what admins and systemd wait on. Until start() ends
      // it serves ping and status (judged: false) and asks other callers to wait.
      this.server,
      this.loopDelay,
      worker,
      // First: it hears every event of the start-up (a rollback at start, a give-up on adoption).
      this.notifier,
      kernel,
      this.hooks,
      this.manager,
      // Right after the uplinks: a daemon started inside a deny window never dials.
      this.scheduler,

      this.demand,
      this.jobs,
      this.announcer,
      this.reconciler,
      this.firewall,
      this.drift,
      this.http,
      // Last: READY=1 goes out once the control socket answers.
      ...(this.systemd ? [this.systemd] : []),
    ];
  }

  /**
   * Leaves routes, rules and connect processes in place (hitless restart) unless
   * `teardown`: then hangs up, removes everything of ours and forgets the state
   * file. Returns after socket and lock are released.
   */
  stop(reason: string, teardown = false): Promise<void> {
    this.stopping ??= (async () => {
      this.o.log.info(
        { reason, teardown },
        teardown ? 'uplinkd stopping and removing what is ours' : 'uplinkd stopping (kernel state left in place)',
      );
      this.bus.publish({ type: 'daemon', message: `stopping: ${reason}` });
      this.systemd?.stopping(reason);
      // A pending apply's countdown goes on in the next daemon (it is on disk, on the boot clock).
      this.applyer?.stop();
      await this.stopComponents(teardown);
      this.o.onStopped?.();
    })();
    return this.stopping;
  }

  /** Reverse start order, each once; with `teardown`, each removes what it made right after it stopped. */
  private async stopComponents(teardown: boolean): Promise<void> {
    // The systemd notifier started last but stops last: its watchdog keeps going while a
    // slow stop (disconnect commands, jobs) runs, or systemd would abort a clean shutdown.
    const order = this.started.splice(0).reverse();
    const notifier = order.filter((c) => c === this.systemd);
    for (const c of [...order.filter((c) => c !== this.systemd), ...notifier]) {
      try {
        await c.stop();
        if (teardown) await c.teardown?.();
      } catch (e) {
        this.o.log.error({ err: e, component: c.name }, `stopping ${c.name} failed`);
      }
    }
    this.lock?.release();
    this.lock = undefined;
    // Clients (a waiting `uplink quit`) see the close only once socket and lock are free.
    this.server?.closeClients();
  }

  /** Never beside an apply, confirm or rollback: its check of "pending" would be stale. */
  reload(): Promise<{ changed: boolean; message: string }> {
    return this.applyer.exclusive(() => this.reloadNow());
  }

  private async reloadNow(): Promise<{ changed: boolean; message: string }> {
    let changed: boolean;
    try {
      const pending = this.applyer.pending();
      if (pending)
        throw new UplinkError(
          'APPLY_PENDING',
          `an apply of ${pending.file} is pending (rolls back at ${pending.deadline}); reload refused`,
          '`uplink confirm` keeps it, `uplink rollback` reverts it; then reload',
        );
      const path = this.o.configPath;
      const text = await this.o.system.store.read(path);
      if (text !== undefined) this.drift?.loaded(text);
      if (text === undefined) {
        // The loader's coded error says why (CONFIG_READ with its hint).
        await this.offload.loadConfig(path);
        throw new UplinkError('CONFIG_READ', `cannot read config ${path}`);
      }
      const next = await this.checkNext(text, path, 'reload');
      await this.warnFileModes();
      changed = await this.swap(next, text, 'config reload');
    } catch (e) {
      const msg = (e as Error).message;
      this.o.log.error({ error: msg }, 'reload rejected; keeping the running config');
      this.bus.publish({ type: 'config', ok: false, message: `reload rejected: ${msg}` });
      throw e;
    }
    const message = changed ? 'config reloaded' : 'config unchanged';
    this.o.log.info(message);
    this.bus.publish({ type: 'config', ok: true, message });
    return { changed, message };
  }

  private async warnFileModes(): Promise<void> {
    for (const w of await this.o.system.configFileWarnings(this.o.configPath)) this.o.log.warn(w);
  }

  /**
   * The /sys carrier fast path (a poll every control.carrier_poll) beats the kernel's link
   * events by tens to hundreds of ms: worth its wake-ups only for uplinks that ask for
   * sub-second failover (probe interval ≤ 1 s: instant, fast). The others' carrier loss comes
   * with the kernel's netlink event, far inside their probe timing, and an idle daemon sleeps.
   */
  private watchCarrier(): void {
    const intervals = Object.values(this.config.uplinks).map((u) => ({
      u,
      ms: effectiveProbe(this.config, u).interval,
    }));
    const fast = intervals.filter((x) => x.ms <= FAST_CARRIER_INTERVAL_MS);
    this.watch?.watchCarrier?.(fast.map((x) => x.u.interface));
    // The event-loop monitor samples in step with the fastest probing, for the same reason.
    this.loopDelay.fitTo(Math.min(...intervals.map((x) => x.ms)));
  }

  /** What `uplink status` shows. */
  status() {
    return this.api().status();
  }

  /** What the control socket serves (tests call it directly). */
  api() {
    return {
      status: () =>
        buildStatus(this.config, this.world!.snapshot(), {
          pid: process.pid,
          version: VERSION,
          startedAt: this.startedAt,
          configPath: this.o.configPath,
          system: this.o.system.kind,
          starting: !this.running && !this.stopping,
          judged: this.reconciler!.isJudged(),
          eventLoop: this.loopDelay.status(),
          warnings: this.warnings.current,
          configDiffers: this.drift?.differs(),
          watch: this.watch!.stats(),
          reconcileRuns: this.reconciler!.runs,
          lastError: this.reconciler!.lastError,
          reconcile: this.reconciler!.status(),
          selection: { ...this.manager!.selection, forced: this.manager!.forced },
          routed: routedEntries(this.config, this.manager!.verdicts()),
          jobs: this.jobs!.view(),
          apply: this.applyView(),
          hooks: this.hooks!.view(),
          schedule: this.scheduler!.view(),
          notify: this.notifier!.view(),
          announce: this.announcer!.view(),
          firewall: this.firewall!.status(),
          uplinks: Object.fromEntries(
            [...this.manager!.uplinks.values()].map((u) => [
              u.name,
              { ...uplinkView(this.manager!, u), ...this.demandView(u.name) },
            ]),
          ),
        }),
      reload: () => this.reload(),
      apply: (text: string, file: string, seconds: number, onClientClose?: (fn: () => void) => void) =>
        this.applyer.apply(text, file, seconds, onClientClose),
      confirm: () => this.applyer.confirm(),
      rollback: () => this.applyer.rollback('`uplink rollback` by the admin'),
      admin: (action: AdminAction, name: string) => this.admin(() => this.manager!.admin(action, name)),
      unforce: () => this.admin(() => this.manager!.unforce()),
      demand: (name: string, on: boolean) => this.admin(() => this.demand!.setEnabled(name, on)),
      job: (action: JobAction, name: string) => this.admin(() => this.jobs!.admin(action, name)),
      plan: async (source: { text: string } | { path: string }, file: string) => {
        const next =
          'text' in source
            ? await this.offload.parseConfig(source.text, file)
            : await this.offload.loadConfig(source.path);
        return {
          against: 'running daemon',
          changes: configChanges(this.config, next, this.jobs!.running()),
          kernel: this.reconciler!.planFor(next),
          firewall: await this.offload.diffRulesets(this.config, next),
        };
      },
      quit: (teardown: boolean) =>
        setImmediate(() => this.stopSafely(teardown ? 'quit --teardown requested' : 'quit requested', teardown)),
      subscribe: (fn: Parameters<EventBus['subscribe']>[0]) => this.bus.subscribe(fn),
      history: () => this.bus.history(),
      login: () => {
        if (!this.config.control.http.enabled)
          throw new UplinkError('HTTP_DISABLED', 'the HTTP API is off', 'set control.http.enabled: true and reload');
        return this.http!.loginUrl();
      },
      memory: memoryNow,
    };
  }

  /** Uplinks that may carry IPv6 now (after every run: not the whole status view). */
  private ipv6Carriers(): string[] {
    const m = this.manager!;
    return [...m.uplinks.values()].filter((u) => carriedFamilies(m, u).ipv6).map((u) => u.name);
  }

  private demandView(name: string) {
    const demand = this.demand?.view(name);
    return demand ? { demand } : {};
  }

  /** For callers that cannot await (signals, quit): a failing stop is logged and the process still ends. */
  stopSafely(reason: string, teardown = false): void {
    this.stop(reason, teardown).catch((e) => {
      this.o.log.fatal({ err: e }, 'stopping failed');
      this.o.onStopped?.();
    });
  }

  /** What a notification says about the uplinks now. */
  private noticeContext() {
    const m = this.manager!;
    return {
      uplink: (name: string) => {
        const u = m.uplinks.get(name);
        if (!u) return undefined;
        return {
          iface: u.cfg.interface,
          mode: u.cfg.mode,
          state: u.state,
          since: new Date(u.since).toISOString(),
          priority: u.cfg.priority,
        };
      },
      usable: (name: string) => {
        const u = m.uplinks.get(name);
        return !!u && m.usable(u);
      },
      selected: () => m.selection.selected,
    };
  }

  /** A cron entry's action: the same path (persisted, settled) as the CLI command. */
  private async scheduled(s: ScheduleConfig): Promise<string> {
    const name = s.uplink ?? '';
    switch (s.action) {
      case 'unforce':
        return (await this.admin(() => this.manager!.unforce())).message;
      case 'demand_on':
      case 'demand_off':
        return (await this.admin(() => this.demand!.setEnabled(name, s.action === 'demand_on'))).message;
      case undefined:
        throw new Error('a window has no action');
      default:
        return (await this.admin(() => this.manager!.admin(s.action as AdminAction, name))).message;
    }
  }

  /** Applies an admin action and waits until the kernel reflects it, so the CLI returns on a settled state. */
  private async admin(fn: () => string): Promise<{ message: string }> {
    const message = fn();
    this.o.log.info(`admin: ${message}`);
    this.manager!.persist();
    this.reconciler!.markDirty(`admin: ${message}`);
    await this.reconciler!.settle();
    return { message };
  }
}
