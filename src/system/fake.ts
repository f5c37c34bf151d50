/**
 * In-memory kernel for unit tests: records every command and echoes applied
 * changes back as kernel events, like the real kernel does, so the whole loop
 * (watch → world → reconcile → apply → watch) runs without a machine.
 */
import type { KernelSink, KernelWatch } from './kernel.js';
import { displayCommand, KernelRefused, opEvent, type KernelOp, type RefusedOp } from '../model/ops.js';
import type { ProbeRequest, ProbeResult } from './probe/types.js';
import type {
  AdoptOptions,
  HttpRequest,
  HttpResponse,
  MailRequest,
  ExitReason,
  InstanceLockHandle,
  Listener,
  HttpListener,
  ProbeRunner,
  ProxyOptions,
  StopOptions,
  SuperviseOptions,
  SupervisedProcess,
  System,
} from './system.js';
import type { NftChain } from './nft.js';
import { UplinkError } from '../errors.js';
import { parseSecrets, type Secrets } from '../config/secrets.js';
import type { DnsUpdateRequest, DnsUpdateResult } from '../model/dns-update.js';
import { NftMemory } from './nft-memory.js';
import { MemoryStore } from './store.js';
import {
  putRoute,
  ruleKey,
  type AddrInfo,
  type KernelEvent,
  type LinkInfo,
  type RouteInfo,
  type RuleInfo,
  type WatchStats,
} from '../model/kernel.js';

export class FakeKernel {
  readonly links = new Map<number, LinkInfo>();
  readonly addrs: AddrInfo[] = [];
  readonly routes = new Map<string, RouteInfo>();
  readonly rules = new Map<string, RuleInfo>();
  sink?: KernelSink;
  stats: WatchStats = { messages: 0, overruns: 0, resyncs: 0 };

  emit(events: KernelEvent[]): void {
    this.stats.messages += events.length;
    for (const e of events) {
      if (e.kind === 'link') e.op === 'new' ? this.links.set(e.link.index, e.link) : this.links.delete(e.link.index);
      else if (e.kind === 'route') putRoute(this.routes, e);
      else if (e.kind === 'rule')
        e.op === 'new' ? this.rules.set(ruleKey(e.rule), e.rule) : this.rules.delete(ruleKey(e.rule));
      else if (e.op === 'new') this.addrs.push(e.addr);
      else {
        const i = this.addrs.findIndex((a) => a.address === e.addr.address && a.index === e.addr.index);
        if (i >= 0) this.addrs.splice(i, 1);
      }
    }
    this.sink?.apply(events);
  }

  indexOf(dev: string | undefined): number | undefined {
    for (const l of this.links.values()) if (l.name === dev) return l.index;
    return undefined;
  }
}

/** A process of the fake System: running until the test ends it (`exit`) or the daemon stops it. */
export class FakeProcess implements SupervisedProcess {
  readonly exited: Promise<ExitReason>;
  /** As the real one: where the daemon asked for one, a cgroup under a pretend hierarchy. */
  readonly cgroup?: string;
  running = true;
  stops: StopOptions[] = [];
  private done!: (r: ExitReason) => void;
  constructor(
    readonly pid: number,
    readonly startTime: number,
    readonly o: SuperviseOptions | AdoptOptions,
  ) {
    this.exited = new Promise((r) => (this.done = r));
    // A spawn names a cgroup relative to the daemon's; an adoption passes the directory it saved.
    if (o.cgroup !== undefined) this.cgroup = 'command' in o ? `/fake-cgroup/${o.cgroup}` : o.cgroup;
  }
  /** Signals sent to it, in order. */
  readonly signals: string[] = [];
  signal(sig: NodeJS.Signals): boolean {
    if (!this.running) return false;
    this.signals.push(sig);
    return true;
  }
  /** The process ends by itself (the peer hung up). */
  exit(code: number | null = 0, signal: string | null = null): void {
    if (!this.running) return;
    this.running = false;
    this.done({ code, signal });
  }
  async stop(o: StopOptions = {}): Promise<ExitReason> {
    this.stops.push(o);
    this.exit(null, 'SIGTERM');
    return this.exited;
  }
}

export class FakeSystem implements System {
  readonly kind = 'fake';
  readonly kernel = new FakeKernel();
  readonly commands: string[] = [];
  readonly sysctls = new Map<string, string>();
  /** Set to make the next apply fail, as a kernel refusing a route would. */
  failNext?: string;
  /** Decides each probe; default: every probe answers in 1 ms. */
  probeAnswer: (req: ProbeRequest) => ProbeResult | Promise<ProbeResult> = () => ({ ok: true, rttMs: 1 });

  kernelWatch(): KernelWatch {
    const k = this.kernel;
    return {
      async start(sink: KernelSink) {
        k.sink = sink;
        sink.reset(
          {
            links: [...k.links.values()],
            addrs: [...k.addrs],
            routes: [...k.routes.values()],
            rules: [...k.rules.values()],
          },
          'initial dump',
        );
      },
      async stop() {
        k.sink = undefined;
      },
      stats: () => ({ ...k.stats }),
    };
  }

  prober(): ProbeRunner {
    return {
      start: async () => undefined,
      stop: async () => undefined,
      probe: async (req) => this.probeAnswer(req),
    };
  }

  async apply(ops: KernelOp[]): Promise<void> {
    if (this.failNext) {
      const msg = this.failNext;
      this.failNext = undefined;
      throw new Error(msg);
    }
    const refused: RefusedOp[] = [];
    for (const o of ops) {
      const error = this.refuses?.(o) ?? this.noDevice(o);
      if (error) {
        refused.push({ op: o, error });
        continue;
      }
      this.commands.push(displayCommand(o));
      this.kernel.emit([opEvent(o, (dev) => this.kernel.indexOf(dev))]);
    }
    if (refused.length) throw new KernelRefused(refused);
  }

  /** As the kernel: a route or address on a device that does not exist is refused ("Cannot find device"). */
  private noDevice(o: KernelOp): string | undefined {
    const dev = 'addr' in o ? o.addr.dev : 'route' in o && o.op !== 'del' ? o.route.dev : undefined;
    return dev !== undefined && this.kernel.indexOf(dev) === undefined ? `Cannot find device "${dev}"` : undefined;
  }

  /** Ops the fake kernel refuses (the error it gives), e.g. a route through a link that is down. */
  refuses?: (op: KernelOp) => string | undefined;

  /** nftables as `nft list` shows it: `ruleset.batches` were applied, `ruleset.table` is the result. */
  readonly ruleset = new NftMemory();
  /** Set to make every nft batch fail with this message (a kernel refusing the ruleset). */
  nftReject?: string;
  /** Every nft call, checks included: a test counts retries by it. */
  nftCalls = 0;

  async nft(batch: unknown, check = false): Promise<void> {
    this.nftCalls++;
    if (this.nftReject) throw new UplinkError('NFT_REJECTED', this.nftReject);
    if (!check) this.ruleset.apply(batch);
  }

  /** Chains of other tables, as `nft list chains` would show them. */
  foreignChains: NftChain[] = [];

  readonly nftSnapshots: string[] = [];

  async nftSnapshot(_table: string, file: string): Promise<void> {
    this.nftSnapshots.push(file);
  }

  /** Open proxies by name: a test injects packets with `inject`, and sees replays in `written`. */
  readonly proxies = new Map<
    string,
    { o: { name: string; address: string; onPackets: (p: Buffer[]) => void }; written: Buffer[]; open: boolean }
  >();
  /** Processes started, in order; `spawnFails` makes the next spawn throw. */
  readonly processes: FakeProcess[] = [];
  spawnFails?: string;
  /** Processes a test left "running" for the daemon to adopt: pid → start time. */
  readonly adoptable = new Map<number, number>();
  private nextPid = 1000;

  spawn(o: SuperviseOptions): SupervisedProcess {
    if (this.spawnFails) throw new UplinkError('SPAWN', this.spawnFails);
    const p = new FakeProcess(this.nextPid++, 1, o);
    this.processes.push(p);
    return p;
  }

  adopt(pid: number, o: AdoptOptions): SupervisedProcess | undefined {
    if (this.adoptable.get(pid) !== o.startTime) return undefined;
    const p = new FakeProcess(pid, o.startTime ?? 0, o);
    this.processes.push(p);
    return p;
  }

  /** Cgroups of dead job instances the daemon ended (at start). */
  readonly endedCgroups: string[] = [];
  async endCgroup(dir: string): Promise<void> {
    this.endedCgroups.push(dir);
  }

  /** Files the daemon wrote (the state file), by path. */
  readonly store = new MemoryStore();
  /** What configFileWarnings answers (a test sets a world-writable config's warning). */
  configWarnings: string[] = [];
  async configFileWarnings(): Promise<string[]> {
    return this.configWarnings;
  }

  /** The boot clock (ms) and boot id a test moves: a restart within one boot, or a reboot. */
  /** Added to the real monotonic clock: a test jumps it ahead (or back, for a reboot). */
  bootOffsetMs = 100_000;
  boot = 'fake-boot-1';
  bootClock(): number {
    return this.bootOffsetMs + performance.now();
  }
  bootId(): string {
    return this.boot;
  }
  /** HTTP requests and mails sent, in order; `httpAnswer`/`mailAnswer` decide how each goes. */
  http: HttpRequest[] = [];
  httpAnswer: (r: HttpRequest) => HttpResponse | Promise<HttpResponse> = () => ({ status: 200, body: 'good' });
  async httpRequest(r: HttpRequest): Promise<HttpResponse> {
    this.http.push(r);
    return this.httpAnswer(r);
  }
  dnsUpdates: DnsUpdateRequest[] = [];
  dnsAnswer: (r: DnsUpdateRequest) => DnsUpdateResult = () => ({
    ok: true,
    rcode: 'NOERROR',
    retryable: false,
    message: 'NOERROR',
  });
  async dnsUpdate(r: DnsUpdateRequest): Promise<DnsUpdateResult> {
    this.dnsUpdates.push(r);
    return this.dnsAnswer(r);
  }
  mails: MailRequest[] = [];
  mailAnswer: (m: MailRequest) => void | Promise<void> = () => undefined;
  async sendMail(m: MailRequest): Promise<void> {
    this.mails.push(m);
    await this.mailAnswer(m);
  }
  /** Secrets files by path: their text and mode (checked as the real door checks them). */
  secretsFiles = new Map<string, { text: string; mode: number }>();
  async readSecrets(path: string): Promise<Secrets> {
    const f = this.secretsFiles.get(path);
    if (!f) throw new UplinkError('SECRETS_READ', `cannot read secrets file ${path}: ENOENT`);
    if (f.mode & 0o077)
      throw new UplinkError('SECRETS_MODE', `secrets file ${path} is readable by others`, `chmod 600 ${path}`);
    return parseSecrets(f.text, path);
  }
  /** Added to the real wall clock: a test moves the schedule's time. */
  wallOffsetMs = 0;
  wallClock(): number {
    return Date.now() + this.wallOffsetMs;
  }
  /** Configs written by a confirm: path → text (the previous text under path.bak). */
  async installConfig(path: string, text: string) {
    const old = await this.store.read(path);
    if (old !== undefined) await this.store.write(`${path}.bak`, old);
    await this.store.write(path, text);
    return { path, ...(old !== undefined ? { backup: `${path}.bak` } : {}) };
  }

  lock(): InstanceLockHandle {
    return { release: () => undefined };
  }

  /** Control sockets opened (the fake accepts no clients: tests call the controller directly). */
  readonly listening = new Set<string>();
  async listen(path: string): Promise<Listener> {
    this.listening.add(path);
    return { close: async () => void this.listening.delete(path) };
  }

  /** HTTP listeners asked for (host:port); the fake serves nothing (the lab tests the API). */
  readonly httpListening = new Set<string>();
  async listenHttp(host: string, port: number): Promise<HttpListener> {
    const key = `${host}:${port}`;
    this.httpListening.add(key);
    return { port, close: async () => void this.httpListening.delete(key) };
  }

  /** sd_notify messages sent, in order. */
  readonly notified: string[] = [];
  /** Set to act as a daemon started by systemd. */
  underSystemd?: { watchdogMs?: number };
  sdNotify(message: string): boolean {
    this.notified.push(message);
    return true;
  }

  systemd(): { watchdogMs?: number } | undefined {
    return this.underSystemd;
  }

  async openProxy(o: ProxyOptions) {
    const p = { o, written: [] as Buffer[], open: true };
    this.proxies.set(o.name, p);
    // As a TUN device: a link of its own, up, with carrier.
    if (this.kernel.indexOf(o.name) === undefined) {
      const index = Math.max(100, ...this.kernel.links.keys()) + 1;
      const link = { index, name: o.name, up: true, carrier: true, operstate: 'up', mtu: 1500 };
      this.kernel.emit([{ kind: 'link', op: 'new', link }]);
    }
    return {
      name: o.name,
      write: (pkts: Buffer[]) => (p.written.push(...pkts), pkts.length),
      close: async () => void (p.open = false),
    };
  }

  async removeProxy(name: string): Promise<void> {
    this.proxies.delete(name);
    const index = this.kernel.indexOf(name);
    const link = index === undefined ? undefined : this.kernel.links.get(index);
    if (link) this.kernel.emit([{ kind: 'link', op: 'del', link }]);
  }

  /** conntrackFlush calls, newest last. */
  readonly conntrackFlushes: string[][] = [];
  async conntrackFlush(snatAddrs: string[]) {
    this.conntrackFlushes.push([...snatAddrs]);
    return { examined: 0, deleted: 0, vanished: 0 };
  }

  /** conntrackReleaseRouted calls, newest last. */
  readonly routedReleases: string[][] = [];
  async conntrackReleaseRouted(prefixes: string[]) {
    this.routedReleases.push([...prefixes]);
    return { examined: 0, deleted: 0, vanished: 0 };
  }

  /** Elements of sets by name, as a test wants `nft list set` to show them. */
  readonly nftSets = new Map<string, { key: string; expiresMs?: number }[]>();
  async nftSetElements(_table: string, set: string) {
    return this.nftSets.get(set);
  }

  async nftChains(): Promise<NftChain[]> {
    return this.foreignChains;
  }

  async nftList(): Promise<{ nftables: Record<string, unknown>[] } | undefined> {
    return this.ruleset.table;
  }

  /** Watched directories: a test calls `changed(dir, file)` after writing a file into the store. */
  readonly watches = new Map<string, (file: string) => void>();
  /** Hooks by directory, as a test wants the door to list them. */
  readonly hooks = new Map<string, { path: string; problem?: string }[]>();
  hookFiles(dir: string) {
    return this.hooks.get(dir) ?? [];
  }

  /** Programs a test says may not run (name → why). */
  readonly untrustedPrograms = new Map<string, string>();
  programProblem(program: string) {
    return this.untrustedPrograms.get(program);
  }

  /** Followed files by path: a test calls the callback with the lines a job printed. */
  readonly follows = new Map<string, (lines: string[]) => void>();
  followFile(path: string, onLines: (lines: string[]) => void) {
    this.follows.set(path, onLines);
    return { close: () => void this.follows.delete(path), pause: () => undefined, resume: () => undefined };
  }

  watchDir(dir: string, onChange: (file: string) => void) {
    this.watches.set(dir, onChange);
    return { close: () => void this.watches.delete(dir) };
  }
  changed(dir: string, file: string): void {
    this.watches.get(dir)?.(file);
  }

  /** Router solicitations sent, by interface, in order. */
  readonly solicitations: string[] = [];
  async routerSolicit(iface: string): Promise<void> {
    this.solicitations.push(iface);
  }

  /** Sysctls (by key) that refuse to be written, as a read-only /proc/sys would. */
  sysctlRefuses?: (key: string) => boolean;

  async sysctl(key: string, value: string): Promise<boolean> {
    if (this.sysctlRefuses?.(key)) throw new Error(`EROFS: cannot write /proc/sys/${key}`);
    const changed = this.sysctls.get(key) !== value;
    this.sysctls.set(key, value);
    return changed;
  }
}
