/**
 * Starts and stops the daemon's components and wires them together. The
 * constructor does nothing; start() acquires the lock before anything else, and
 * stop() leaves kernel state as it is (hitless restarts, DESIGN.md principle 8).
 */
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { loadConfigFile, parseConfigText } from '../config/load.js';
import { diffRulesets } from '../firewall/diff.js';
import type { Config } from '../config/schema.js';
import { ControlServer } from '../control/server.js';
import { controlMethods } from '../control/methods.js';
import { buildStatus } from '../control/status.js';
import { UplinkError } from '../errors.js';
import type { KernelWatch } from '../system/kernel.js';
import { InstanceLock } from '../system/lock.js';
import type { System } from '../system/system.js';
import { World } from '../world/world.js';
import { adminAction, unforce, type AdminAction } from '../uplinks/admin.js';
import { UplinkManager, uplinkView } from '../uplinks/manager.js';
import { Firewall } from '../firewall/apply.js';
import { Demand } from '../demand/demand.js';
import { loadState, stateFile } from '../uplinks/persist.js';
import { EventBus } from './events.js';
import { Reconciler } from './reconciler.js';
import { VERSION } from './version.js';

export interface ControllerOptions {
  configPath: string;
  config: Config;
  system: System;
  log: Logger;
  onStopped?: () => void;
  /** --socket / --state-dir: they win over the file at start and on every reload. */
  overrides?: { socket?: string; state_dir?: string };
}

export class Controller {
  readonly bus = new EventBus();
  private config!: Config;
  private world?: World;
  private watch?: KernelWatch;
  private reconciler?: Reconciler;
  private manager?: UplinkManager;
  private firewall?: Firewall;
  private demand?: Demand;
  private server?: ControlServer;
  private lock?: InstanceLock;
  private stopping?: Promise<void>;
  private readonly startedAt = new Date().toISOString();

  constructor(private readonly o: ControllerOptions) {}

  async start(): Promise<void> {
    const { log, system } = this.o;
    this.config = this.o.config;
    const ctl = this.config.control;
    this.lock = new InstanceLock(`${ctl.socket}.lock`);
    this.lock.acquire();
    try {
      this.world = new World((reason, urgent) => this.reconciler?.markDirty(reason, urgent));
      const file = stateFile(ctl.state_dir);
      this.manager = new UplinkManager({ config: () => this.config, system, bus: this.bus, log: log.child({ component: 'uplinks' }), stateFile: file, onDirty: (why) => this.reconciler?.markDirty(why) });
      this.firewall = new Firewall({
        system, log: log.child({ component: 'firewall' }), bus: this.bus, config: () => this.config,
        wanAddrs4: () => [...this.manager!.uplinks.values()].flatMap((u) => (u.facts.v4 ? [u.facts.v4.address] : [])),
      });
      this.demand = new Demand({ system, log: log.child({ component: 'demand' }), bus: this.bus, config: () => this.config, manager: this.manager, world: this.world,
        onProxiesChanged: () => this.reconciler?.markDirty('demand proxies changed') });
      this.reconciler = new Reconciler({ system, world: this.world, manager: this.manager, firewall: this.firewall, demand: this.demand, bus: this.bus, log: log.child({ component: 'reconcile' }), config: () => this.config });
      const k = ctl.kernel;
      this.watch = system.kernelWatch({ protocol: k.route_protocol, tableBase: k.table_base, tableCount: k.table_count, rulePriorityBase: k.rule_priority_base, rulePriorityCount: k.rule_priority_count }, ctl.netlink_buffer, ctl.carrier_poll);
      await this.watch.start(this.world);
      await this.manager.start(await loadState(file));
      this.watchCarrier();
      // The proxies are armed (TUN, route, notrack rules) before the control socket first answers.
      await this.demand.start();
      this.reconciler.start();
      // settle() includes the firewall, then a run routes the proxies it armed (bounded: a
      // busy loop must not keep the control socket from coming up).
      await this.reconciler.settle(5000);
      this.firewall.start();
      this.server = new ControlServer(ctl.socket, controlMethods(this.api()), log.child({ component: 'control' }));
      await this.server.start();
    } catch (e) {
      await this.teardownComponents();
      throw e;
    }
    this.bus.publish({ type: 'daemon', message: `started (pid ${process.pid}, ${system.kind})` });
    log.info({ socket: ctl.socket, uplinks: Object.keys(this.config.uplinks) }, 'uplinkd started');
  }

  /**
   * Leaves routes, rules and connect processes in place (hitless restart) unless
   * `teardown`: then hangs up, removes everything of ours and forgets the state
   * file. Returns after socket and lock are released.
   */
  stop(reason: string, teardown = false): Promise<void> {
    this.stopping ??= (async () => {
      this.o.log.info({ reason, teardown }, teardown ? 'uplinkd stopping and removing what is ours' : 'uplinkd stopping (kernel state left in place)');
      this.bus.publish({ type: 'daemon', message: `stopping: ${reason}` });
      if (teardown) await this.teardownKernel();
      await this.teardownComponents();
      this.o.onStopped?.();
    })();
    return this.stopping;
  }

  async reload(): Promise<{ changed: boolean; message: string }> {
    let next: Config;
    try {
      next = await loadConfigFile(this.o.configPath);
    } catch (e) {
      const msg = (e as Error).message;
      this.o.log.error({ error: msg }, 'reload rejected; keeping the running config');
      this.bus.publish({ type: 'config', ok: false, message: `reload rejected: ${msg}` });
      throw e;
    }
    Object.assign(next.control, Object.fromEntries(Object.entries(this.o.overrides ?? {}).filter(([, v]) => v !== undefined)));
    const cur = this.config.control;
    if (next.control.socket !== cur.socket || next.control.state_dir !== cur.state_dir) {
      throw new UplinkError('CONFIG_INVALID', 'control.socket and control.state_dir cannot change on reload', 'restart uplinkd to move them');
    }
    try {
      await this.firewall?.check(next);
    } catch (e) {
      this.bus.publish({ type: 'config', ok: false, message: `reload rejected: ${(e as Error).message}` });
      throw e;
    }
    const changed = JSON.stringify(next) !== JSON.stringify(this.config);
    this.config = next;
    this.manager?.sync();
    await this.demand?.sync();
    this.watchCarrier();
    const message = changed ? 'config reloaded' : 'config unchanged';
    this.o.log.info(message);
    this.bus.publish({ type: 'config', ok: true, message });
    this.reconciler?.markDirty('config reload');
    return { changed, message };
  }

  private watchCarrier(): void {
    this.watch?.watchCarrier?.(Object.values(this.config.uplinks).map((u) => u.interface));
  }

  private api() {
    return {
      status: () => buildStatus(this.config, this.world!.snapshot(), {
        pid: process.pid, version: VERSION, startedAt: this.startedAt, configPath: this.o.configPath,
        system: this.o.system.kind, judged: this.reconciler!.isJudged(), watch: this.watch!.stats(), reconcileRuns: this.reconciler!.runs,
        lastError: this.reconciler!.lastError,
        selection: { ...this.manager!.selection, forced: this.manager!.forced },
        firewall: this.firewall!.status(),
        uplinks: Object.fromEntries([...this.manager!.uplinks.values()].map((u) => [u.name, { ...uplinkView(this.manager!, u), ...this.demandView(u.name) }])),
      }),
      reload: () => this.reload(),
      admin: (action: AdminAction, name: string) => this.admin(() => adminAction(this.manager!, action, name)),
      unforce: () => this.admin(() => unforce(this.manager!)),
      demand: (name: string, on: boolean) => this.admin(() => this.demand!.setEnabled(name, on)),
      plan: async (text: string, file: string) => {
        const next = parseConfigText(text, file);
        return { against: 'running daemon', kernel: this.reconciler!.planFor(next), firewall: diffRulesets(this.config, next) };
      },
      quit: (teardown: boolean) => setImmediate(() => this.stopSafely(teardown ? 'quit --teardown requested' : 'quit requested', teardown)),
      subscribe: (fn: Parameters<EventBus['subscribe']>[0]) => this.bus.subscribe(fn),
      history: () => this.bus.history(),
    };
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

  /** Applies an admin action and waits until the kernel reflects it, so the CLI returns on a settled state. */
  private async admin(fn: () => string): Promise<{ message: string }> {
    const message = fn();
    this.o.log.info(`admin: ${message}`);
    this.manager!.persist();
    this.reconciler!.markDirty(`admin: ${message}`);
    await this.reconciler!.settle();
    return { message };
  }

  private async teardownKernel(): Promise<void> {
    await this.server?.stop();
    await this.reconciler?.stop();
    await this.manager?.stop(true);
    await this.demand?.stop(true);
    this.firewall?.stop();
    try {
      await this.firewall?.remove();
      const commands = await this.reconciler!.removeAll();
      this.o.log.info({ commands }, `teardown: removed ${commands.length} route(s) and rule(s)`);
    } catch (e) {
      this.o.log.error({ err: e }, 'teardown: could not remove everything');
    }
    await rm(stateFile(this.config.control.state_dir), { force: true });
  }

  private async teardownComponents(): Promise<void> {
    this.firewall?.stop();
    await this.server?.stop();
    await this.reconciler?.stop();
    await this.demand?.stop(false);
    await this.manager?.stop(false);
    await this.watch?.stop();
    this.lock?.release();
    // Clients (a waiting `uplink quit`) see the close only once socket and lock are free.
    this.server?.closeClients();
  }
}
