/**
 * Linux kernel watch: its service in the I/O thread reads rtnetlink (never the main thread,
 * never libuv's pool); this side turns overruns and admin-downs into resyncs,
 * at most one at a time and spaced out, so a route flood cannot livelock us.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { UplinkError } from '../errors.js';
import type { KernelSink, KernelWatch, RulesetListener } from './kernel.js';
import type { DumpResult, DumpWhat, FromWorker, ToWorker, WorkerInit } from './netlink/protocol.js';
import { ioThread, type IoHandle } from './io/thread.js';
import { CarrierPoller } from './carrier.js';
import { parseFibTriestat } from './fib-triestat.js';
import type { ForeignCounts, KernelEvent, LinkInfo, RouteFilter, WatchStats } from '../model/kernel.js';

interface Resync {
  what: DumpWhat;
  reason: string;
  timer?: NodeJS.Timeout;
  /** Its dump is on its way: a request now needs a dump of its own afterwards. */
  running?: boolean;
  again?: { what: DumpWhat; reason: string };
}

const RESYNC_SPACING_MS = 1000;
const COUNT4_SPACING_MS = 250;

export class LinuxKernelWatch implements KernelWatch {
  /** The kernel watch's service in the I/O thread. */
  private io?: IoHandle;
  private sink?: KernelSink;
  private readonly pending = new Map<number, { resolve: (r: DumpResult) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private readonly st: WatchStats = { messages: 0, overruns: 0, resyncs: 0 };
  private readonly foreign: ForeignCounts = { ipv4: {}, ipv6: {} };
  private readonly adminUp = new Map<number, boolean>();
  private readonly links = new Map<string, LinkInfo>();
  private readonly carrier: CarrierPoller;
  private resync?: Resync;
  private lastResyncEnd = 0;
  private count4Timer?: NodeJS.Timeout;
  private stopped = false;
  /** Whether the worker listens to nf_tables events (told in its `ready`). */
  private rulesetEvents = false;
  private readonly rulesetListeners: RulesetListener[] = [];
  private closed: Promise<void> = Promise.resolve();

  constructor(
    private readonly filter: RouteFilter,
    private readonly log: Logger,
    private readonly rcvbuf = 8 << 20,
    carrierPollMs = 5,
  ) {
    this.carrier = new CarrierPoller(
      carrierPollMs,
      (name) => this.links.get(name),
      (link) => {
        this.links.set(link.name, link);
        this.log.info({ link: link.name, carrier: link.carrier }, 'carrier change seen before the kernel announced it');
        this.sink?.apply([{ kind: 'link', op: 'new', link }]);
      },
    );
  }

  /** Interfaces whose carrier is polled (the uplinks'). */
  watchCarrier(names: string[]): void {
    this.carrier.watch(names);
  }

  /**
   * Tells the world about kernel state it learns from an answer rather than an event: a rule
   * add answered EEXIST means the identical rule is there (the kernel announces nothing).
   */
  echo(events: KernelEvent[]): void {
    if (events.length) this.sink?.apply(events);
  }

  async start(sink: KernelSink): Promise<void> {
    this.sink = sink;
    await this.spawn();
    await this.fullSync('initial dump');
    this.carrier.start();
  }

  private async spawn(): Promise<void> {
    const init: WorkerInit = { filter: this.filter, rcvbuf: this.rcvbuf };
    let h: IoHandle | undefined;
    let failed: (e: Error) => void = () => undefined;
    const onExit = (code: number) => {
      failed(new UplinkError('NETLINK', `the I/O thread exited with ${code} before the kernel watch was ready`));
      if (h) this.onExit(h, code);
    };
    h = ioThread.attach('netlink', init, this.log, onExit);
    const handle = h;
    this.io = handle;
    // Its end (our stop, or the thread's) closes the port.
    this.closed = new Promise((r) => handle.port.once('close', () => r()));
    await new Promise<void>((resolve, reject) => {
      failed = reject;
      handle.port.once('message', (m: FromWorker) => {
        if (m.t !== 'ready') return reject(new Error(JSON.stringify(m)));
        this.rulesetEvents = m.ruleset;
        handle.port.on('message', (x: FromWorker) => this.onMessage(x));
        resolve();
      });
    });
  }

  /** A dead service would leave the daemon blind: fail what waits on it and start a new one with a full resync. */
  private onExit(h: IoHandle, code: number): void {
    if (this.io !== h) return;
    this.io = undefined;
    for (const p of this.pending.values()) p.reject(new UplinkError('NETLINK', 'kernel watch service ended'));
    this.pending.clear();
    if (this.stopped) return;
    this.log.error({ code }, 'the I/O thread exited; restarting the kernel watch with a full resync');
    clearTimeout(this.resync?.timer);
    this.resync = undefined;
    setTimeout(() => {
      if (this.stopped) return;
      this.spawn()
        .then(() => this.fullSync('kernel watch restarted'))
        .catch((e) => this.log.error({ err: e }, 'kernel watch restart failed'));
    }, 1000).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.carrier.stop();
    clearTimeout(this.resync?.timer);
    clearTimeout(this.count4Timer);
    const h = this.io;
    if (h) {
      h.post({ t: 'stop' } satisfies ToWorker);
      // The service closes its side once it has closed its sockets; then the port says so.
      await Promise.race([this.closed, new Promise((r) => setTimeout(r, 1000))]);
      h.detach();
      this.io = undefined;
    }
    for (const p of this.pending.values()) p.reject(new UplinkError('NETLINK', 'kernel watch stopped'));
  }

  stats(): WatchStats {
    return { ...this.st };
  }

  /** After start(): the worker has said whether it hears nf_tables events. */
  onRuleset(fn: RulesetListener): boolean {
    this.rulesetListeners.push(fn);
    return this.rulesetEvents;
  }

  private onMessage(m: FromWorker): void {
    if (m.t === 'events') this.onEvents(m.events, m.foreign6, m.foreign4, m.messages);
    else if (m.t === 'ruleset') for (const fn of this.rulesetListeners) fn(m.tables, m.lost === true);
    else if (m.t === 'overrun') {
      this.st.overruns++;
      this.log.warn('netlink receive buffer overrun; scheduling a full resync');
      this.scheduleResync('state', 'netlink overrun');
    } else if (m.t === 'dump') {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.result) p?.resolve(m.result);
      else p?.reject(new UplinkError('NETLINK', `kernel dump failed: ${m.error}`));
    } else if (m.t === 'fatal') {
      this.log.fatal({ error: m.error }, 'kernel watch worker crashed');
    }
  }

  private onEvents(events: KernelEvent[], foreign6: Record<string, number>, foreign4: boolean, messages: number): void {
    this.st.messages += messages;
    for (const [table, d] of Object.entries(foreign6))
      this.foreign.ipv6[table] = Math.max(0, (this.foreign.ipv6[table] ?? 0) + d);
    if (events.length) this.sink?.apply(events);
    if (Object.keys(foreign6).length) this.sink?.foreign(this.copyForeign());
    if (foreign4) this.scheduleCount4();
    for (const e of events) {
      // The kernel deletes every route through a gateway that a removed address made reachable,
      // in every table, and announces none of them: re-read ours.
      if (e.kind === 'addr' && e.op === 'del') this.reread(`address ${e.addr.address} removed`);
      if (e.kind !== 'link') continue;
      this.trackAdmin(e.link.index, e.op === 'new' && e.link.up);
      if (e.op === 'new') this.links.set(e.link.name, e.link);
      else this.links.delete(e.link.name);
    }
  }

  /**
   * Re-reads routes and rules (spaced out like every resync): after the kernel may have dropped
   * some silently, or answered that one we believed in does not exist.
   */
  reread(reason: string): void {
    this.scheduleResync('routes', reason);
  }

  /** The kernel flushes a downed link's IPv4 routes without telling anyone: re-read ours. */
  private trackAdmin(index: number, up: boolean): void {
    const was = this.adminUp.get(index);
    this.adminUp.set(index, up);
    if (was && !up) this.reread(`link ${index} set down`);
  }

  private scheduleResync(what: DumpWhat, reason: string): void {
    if (this.stopped) return;
    if (this.resync?.running) {
      // The dump may already be past what changed: read once more when it is done.
      const a = this.resync.again;
      this.resync.again = { what: a?.what === 'state' ? 'state' : what, reason };
      return;
    }
    if (this.resync) {
      if (what === 'state') this.resync.what = 'state';
      return;
    }
    const wait = Math.max(0, this.lastResyncEnd + RESYNC_SPACING_MS - Date.now());
    const r: Resync = { what, reason };
    this.resync = r;
    r.timer = setTimeout(() => void this.runResync(r), wait);
  }

  private async runResync(r: Resync): Promise<void> {
    r.running = true;
    try {
      if (r.what === 'state') await this.fullSync(r.reason);
      else {
        const { routes, rules } = await this.dump('routes');
        this.sink?.reset({ routes, rules }, r.reason);
      }
      this.st.resyncs++;
    } catch (e) {
      this.log.error({ err: e }, 'kernel resync failed; will retry');
      this.lastResyncEnd = Date.now();
      this.resync = undefined;
      return this.scheduleResync('state', 'retry after failed resync');
    }
    this.lastResyncEnd = Date.now();
    this.resync = undefined;
    if (r.again) this.scheduleResync(r.again.what, r.again.reason);
  }

  private async fullSync(reason: string): Promise<void> {
    const state = await this.dump('state');
    for (const l of state.links) this.adminUp.set(l.index, l.up);
    this.links.clear();
    for (const l of state.links) this.links.set(l.name, l);
    this.sink?.reset(state, reason);
    const c6 = await this.dump('count6');
    this.foreign.ipv6 = c6.count6 ?? {};
    await this.readCount4();
  }

  private dump(what: DumpWhat): Promise<DumpResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (!this.io) return reject(new UplinkError('NETLINK', 'the kernel watch is restarting'));
      this.pending.set(id, { resolve, reject });
      this.io.post({ t: 'dump', id, what } satisfies ToWorker);
    });
  }

  private scheduleCount4(): void {
    if (this.count4Timer || this.stopped) return;
    this.count4Timer = setTimeout(() => {
      void this.readCount4().finally(() => (this.count4Timer = undefined));
    }, COUNT4_SPACING_MS);
  }

  /** IPv4 per-table counts come from the kernel's FIB statistics: cheap, and right even after an overrun. */
  private async readCount4(): Promise<void> {
    try {
      this.foreign.ipv4 = parseFibTriestat(await readFile('/proc/net/fib_triestat', 'utf8'));
    } catch (e) {
      this.log.debug({ err: e }, 'cannot read /proc/net/fib_triestat');
    }
    this.sink?.foreign(this.copyForeign());
  }

  private copyForeign(): ForeignCounts {
    return { ipv4: { ...this.foreign.ipv4 }, ipv6: { ...this.foreign.ipv6 } };
  }
}
