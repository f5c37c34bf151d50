/**
 * --dry-run: watches the real kernel and probes for real, but changes nothing. No route,
 * rule, address, sysctl, nft ruleset, TUN, conntrack entry, state file or process: each
 * would-be change is logged once ("dry-run: would …") and laid over the observed kernel
 * (KernelOverlay, NftMemory), so the loop sees it done and does not ask again. The control
 * socket and the lock are real (a dry run still answers `uplink status`), and probes use a
 * raw socket where datagram ICMP is refused instead of widening ping_group_range.
 */
import type { Logger } from 'pino';
import { displayCommand, type KernelOp } from '../model/ops.js';
import type { RouteFilter } from '../model/kernel.js';
import { KernelOverlay } from './kernel-overlay.js';
import type { KernelWatch } from './kernel.js';
import { LinuxSystem, readSysctl } from './linux.js';
import { NftMemory } from './nft-memory.js';
import { Prober } from './probe/prober.js';
import { diskStore, MemoryStore } from './store.js';
import type { AdoptOptions, ExitReason, ProxyOptions, SuperviseOptions, SupervisedProcess } from './system.js';
import type { TunHandle } from './tun/index.js';
import type { HttpRequest, HttpResponse, MailRequest } from './system.js';
import type { DnsUpdateRequest, DnsUpdateResult } from '../model/dns-update.js';
import { UplinkError } from '../errors.js';

/** A process that would have been started: "running" until the daemon would stop it. */
class WouldRun implements SupervisedProcess {
  running = true;
  readonly startTime = 0;
  readonly exited: Promise<ExitReason>;
  private end!: (r: ExitReason) => void;
  constructor(
    readonly pid: number,
    private readonly command: string,
    private readonly log: Logger,
  ) {
    this.exited = new Promise((r) => (this.end = r));
  }
  signal(sig: NodeJS.Signals): boolean {
    this.log.info({ command: this.command, signal: sig }, 'dry-run: would signal');
    return this.running;
  }
  async stop(): Promise<ExitReason> {
    if (this.running)
      this.log.info({ command: this.command }, 'dry-run: would stop (disconnect, then SIGTERM to its process group)');
    this.running = false;
    this.end({ code: null, signal: null });
    return this.exited;
  }
}

export class DryRunSystem extends LinuxSystem {
  override readonly kind = 'dry-run';
  private readonly overlay = new KernelOverlay();
  private readonly ruleset = new NftMemory();
  private readonly sysctls = new Map<string, string>();
  private readonly said = new Set<string>();
  /** Reads the real state file (a dry run judges from where the daemon left off); writes stay in memory. */
  override readonly store = new DryRunStore(diskStore, (path) =>
    this.once(`write ${path}`, { file: path }, 'dry-run: would write this state file'),
  );

  /** `watch`: the kernel watch to lay the overlay over (tests); default the real one. */
  constructor(
    log: Logger,
    private readonly realWatch?: (filter: RouteFilter) => KernelWatch,
  ) {
    super(log);
  }

  /** Logs a would-be change the first time it is asked for. */
  private once(key: string, fields: object, message: string): void {
    if (this.said.has(key)) return;
    this.said.add(key);
    this.log.info(fields, message);
  }

  override kernelWatch(filter: RouteFilter, rcvbuf?: number, carrierPollMs?: number) {
    return this.overlay.wrap(this.realWatch?.(filter) ?? super.kernelWatch(filter, rcvbuf, carrierPollMs));
  }

  override prober() {
    return new Prober(this.log.child({ component: 'probe' }), { widenPingGroupRange: false });
  }

  override async apply(ops: KernelOp[]): Promise<void> {
    for (const o of ops) this.log.info({ command: displayCommand(o) }, 'dry-run: would run');
    this.overlay.apply(ops);
  }

  override async sysctl(key: string, value: string): Promise<boolean> {
    const cur = this.sysctls.get(key) ?? readSysctl(key);
    if (cur === undefined || cur === value) return false;
    this.sysctls.set(key, value);
    this.log.info({ command: `sysctl -w ${key.replace(/\//g, '.')}=${value}` }, 'dry-run: would run');
    return false;
  }

  /** Nothing leaves a dry run: announcements and notifications are logged, and fail as not sent. */
  override async httpRequest(r: HttpRequest): Promise<HttpResponse> {
    this.log.info({ method: r.method, url: new URL(r.url).origin }, 'dry-run: would send an HTTP request');
    throw new UplinkError('DRY_RUN', 'dry run: not sent');
  }

  override async sendMail(m: MailRequest): Promise<void> {
    this.log.info({ to: m.to, subject: m.subject }, 'dry-run: would send a mail');
    throw new UplinkError('DRY_RUN', 'dry run: not sent');
  }

  override async dnsUpdate(r: DnsUpdateRequest): Promise<DnsUpdateResult> {
    this.log.info({ server: r.server, name: r.name, address: r.address }, 'dry-run: would send a DNS update');
    return { ok: false, rcode: 'DRY_RUN', retryable: true, message: 'dry run: not sent' };
  }

  /** No job runs in a dry run: there is no output to follow (and no log file may be created). */
  override followFile() {
    return { close: () => undefined, pause: () => undefined, resume: () => undefined };
  }

  /** Nothing of ours writes there in a dry run (no DHCP client runs). */
  override watchDir() {
    return { close: () => undefined };
  }

  override async installConfig(path: string) {
    this.log.info({ file: path }, 'dry-run: would write the confirmed config over this file (keeping a .bak)');
    return { path };
  }

  override async routerSolicit(iface: string): Promise<void> {
    this.log.info({ command: `rdisc6 ${iface}` }, 'dry-run: would solicit routers');
  }

  override async nft(batch: unknown, check = false): Promise<void> {
    if (check) return;
    this.log.info(
      { nft: typeof batch === 'string' ? JSON.parse(batch) : batch },
      'dry-run: would apply this nftables batch (nft -j -f)',
    );
    this.ruleset.apply(batch);
  }

  override async nftList() {
    return this.ruleset.table;
  }

  override async nftSetElements() {
    return [];
  }

  override async nftChains() {
    return [];
  }

  override async nftSnapshot(): Promise<void> {}

  override async conntrackFlush(snatAddrs: string[]) {
    this.log.info({ snatAddrs }, 'dry-run: would delete the conntrack entries pinned by SNAT to these addresses');
    return { examined: 0, deleted: 0, vanished: 0 };
  }

  override async conntrackReleaseRouted(prefixes: string[]) {
    this.log.info({ prefixes }, "dry-run: would delete the routed blocks' flows that their new path cannot carry");
    return { examined: 0, deleted: 0, vanished: 0 };
  }

  override async openProxy(o: ProxyOptions): Promise<TunHandle> {
    this.once(
      `proxy ${o.name}`,
      { proxy: o.name, address: o.address },
      'dry-run: would create the demand proxy (persistent TUN)',
    );
    this.overlay.addLink(o.name);
    return { name: o.name, write: () => 0, close: async () => undefined };
  }

  override async removeProxy(name: string): Promise<void> {
    this.log.info({ proxy: name }, 'dry-run: would delete the demand proxy');
    this.overlay.removeLink(name);
  }

  private pid = 0;
  override spawn(o: SuperviseOptions): SupervisedProcess {
    this.log.info({ command: o.command, logFile: o.logFile }, 'dry-run: would run');
    return new WouldRun(--this.pid, o.command, this.log);
  }

  override adopt(pid: number, _o: AdoptOptions): SupervisedProcess | undefined {
    this.log.info({ pid }, 'dry-run: would adopt this process left by a previous daemon (not adopted)');
    return undefined;
  }
}

class DryRunStore extends MemoryStore {
  constructor(
    real: typeof diskStore,
    private readonly onWrite: (path: string) => void,
  ) {
    super(real);
  }
  override async write(path: string, text: string): Promise<void> {
    this.onWrite(path);
    await super.write(path, text);
  }
}
