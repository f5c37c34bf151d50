/** The one door to the OS. Everything outside src/system/ talks to the machine through this. */
import type { KernelWatch } from './kernel.js';
import type { KernelOp } from '../model/ops.js';
import type { ProbeRequest, ProbeResult } from './probe/types.js';
import type { RouteFilter } from '../model/kernel.js';
import type { NftSetElement } from '../model/nft.js';
import type { NftChain } from './nft.js';
import type { CtFlushResult } from './conntrack/index.js';

export type { CtFlushResult } from './conntrack/index.js';
import type { TunHandle } from './tun/index.js';
import type { Socket } from 'node:net';
import type { FileFollow, FollowOptions } from './follow.js';
import type { HookFile } from './trust.js';
import type { Secrets } from '../config/secrets.js';
import type { HttpRequest, HttpResponse } from './outbound/http.js';
import type { MailRequest } from './outbound/mail.js';
import type { DnsUpdateRequest, DnsUpdateResult } from '../model/dns-update.js';

export type { HttpRequest, HttpResponse } from './outbound/http.js';
import type { HttpHandler, HttpListener } from './http-listen.js';

export type { HttpHandler, HttpListener } from './http-listen.js';
export type { MailRequest } from './outbound/mail.js';
import type { AdoptOptions, ExitReason, StopOptions, SuperviseOptions } from './supervise.js';

export type { AdoptOptions, ExitReason, StopOptions, SuperviseOptions } from './supervise.js';
export type { FileFollow, FollowOptions } from './follow.js';
export type { HookFile } from './trust.js';

/** A supervised command in its own process group (connect commands, jobs, hooks), a job's also in its cgroup. */
export interface SupervisedProcess {
  readonly pid: number;
  /** The cgroup v2 directory holding the run (asked for with `cgroup`, and available); else undefined. */
  readonly cgroup?: string;
  /** /proc/PID/stat start time: with the pid it names one process (adoption checks both). */
  readonly startTime: number;
  /** The main process is alive. */
  readonly running: boolean;
  /** Resolves once the main process is gone and the rest of its group is gone or killed. */
  readonly exited: Promise<ExitReason>;
  /** `disconnect` first if given, then SIGTERM to the group, SIGKILL after the grace. */
  stop(o?: StopOptions): Promise<ExitReason>;
  /** Sends `sig` to the main process alone (udhcpc: SIGUSR1 renew, SIGUSR2 release); false if it is gone. */
  signal(sig: NodeJS.Signals): boolean;
}

export interface DirWatch {
  close(): void;
}

/** Files the daemon keeps: written atomically (write, fsync, rename, fsync the directory). */
export interface StateStore {
  /** The file's text; undefined when it does not exist or cannot be read. */
  read(path: string): Promise<string | undefined>;
  /** `mode` defaults to 0600 (0700 for a script a client of ours runs). */
  write(path: string, text: string, mode?: number): Promise<void>;
  remove(path: string): Promise<void>;
  /**
   * Creates the directory 0700 (it holds the state file, later the API token); an existing
   * one of ours that others can read is tightened to 0700, and its old mode returned.
   */
  ensureDir(path: string, o?: { shared?: boolean }): Promise<{ tightenedFrom?: number }>;
}

export interface InstanceLockHandle {
  release(): void;
}

export interface Listener {
  /** Stops accepting and removes the socket file; clients already connected stay. */
  close(): Promise<void>;
}

export interface ProxyOptions {
  name: string;
  /** IPv4 address of the proxy, put on it as a /32 (rp_filter needs one). */
  address: string;
  onPackets: (pkts: Buffer[]) => void;
  onError: (message: string) => void;
}

export interface ProbeRunner {
  start(): Promise<void>;
  stop(): Promise<void>;
  probe(req: ProbeRequest): Promise<ProbeResult>;
}

export interface System {
  readonly kind: 'linux' | 'dry-run' | 'fake';
  kernelWatch(filter: RouteFilter, rcvbuf?: number, carrierPollMs?: number): KernelWatch;
  prober(): ProbeRunner;
  /** Applies kernel ops in order; rejects with an UplinkError saying which op failed. */
  apply(ops: KernelOp[]): Promise<void>;
  /** Sets a sysctl, key with slashes (net/ipv4/conf/wan1/ignore_routes_with_linkdown), if it differs; true when changed. */
  sysctl(key: string, value: string): Promise<boolean>;
  /** Applies (or with `check`, only validates) an nftables JSON batch (data, or its JSON text), whole or not at all. */
  nft(batch: unknown, check?: boolean): Promise<void>;
  /**
   * `nft -j list table inet NAME`; undefined when there is no such table. `terse`: without
   * the elements of its sets (`nft -t`) except those named in `full` — a table of 60,000
   * forwards lists in a few KB instead of megabytes that the main thread would parse.
   */
  nftList(table: string, terse?: { full: string[] }): Promise<{ nftables: Record<string, unknown>[] } | undefined>;
  /** Elements of a (dynamic) set of `table inet TABLE`, with expiry; undefined when it cannot be read. */
  nftSetElements(table: string, set: string): Promise<NftSetElement[] | undefined>;
  /** All base and regular chains of all tables, to spot foreign drop policies. */
  nftChains(): Promise<NftChain[]>;
  /** Writes our table in nft syntax to `file` (atomically), for /etc/nftables.conf to include. */
  nftSnapshot(table: string, file: string): Promise<void>;
  /** Deletes the IPv4 conntrack entries pinned by SNAT to these addresses (ctnetlink). */
  conntrackFlush(snatAddrs: string[]): Promise<CtFlushResult>;
  /** Deletes the IPv4 flows routed blocks started that their new path cannot carry as they are (ctnetlink). */
  conntrackReleaseRouted(prefixes: string[]): Promise<CtFlushResult>;
  /**
   * Creates (or re-attaches to) a demand uplink's persistent TUN proxy, configured for
   * replay (docs/platform-notes.md: no IPv6 on it, a /32, rp_filter 2, accept_local, a
   * long queue), and reads it in a worker thread.
   */
  openProxy(o: ProxyOptions): Promise<TunHandle>;
  /** Deletes a proxy interface (teardown, or a demand uplink removed from the config). */
  removeProxy(name: string): Promise<void>;
  /** Starts `command` through /bin/sh in its own process group; throws UplinkError('SPAWN') if it cannot. */
  spawn(o: SuperviseOptions): SupervisedProcess;
  /** Takes over a process a previous daemon left running; undefined if it is gone, a zombie or the pid was reused. */
  adopt(pid: number, o: AdoptOptions): SupervisedProcess | undefined;
  /** Kills what a dead job instance left in its cgroup (`SupervisedProcess.cgroup`) and removes it. */
  endCgroup(dir: string): Promise<void>;
  /** Sends one IPv6 router solicitation on `iface` (its MAC as the source link-layer address). */
  routerSolicit(iface: string, mac?: string): Promise<void>;
  /** Why a job's program (a name found through PATH, or a path) may not run as root; undefined: fine. */
  programProblem(program: string, o?: { cwd?: string; path?: string }): string | undefined;
  /** The hooks in `dir` in name order: trusted regular executables, or why one is refused. */
  hookFiles(dir: string): HookFile[];
  /** Passes the new lines appended to `path` (a job's output) to `onLines`; cuts the file back past `maxBytes`. */
  followFile(path: string, onLines: (lines: string[]) => void, o: FollowOptions): FileFollow;
  /** Calls `onChange(file)` when a file in `dir` (which exists) is written, created or renamed. */
  watchDir(dir: string, onChange: (file: string) => void): DirWatch;
  /** The state directory's files. */
  readonly store: StateStore;
  /** What the config file's owner and mode let others do (it runs commands as root). */
  configFileWarnings(path: string): Promise<string[]>;
  /** Milliseconds on CLOCK_BOOTTIME: a deadline that NTP cannot move and a suspend does not stop. */
  bootClock(): number;
  /** Wall-clock ms for the schedule (UPLINKD_SCHEDULE_CLOCK may start it at another moment). */
  wallClock(): number;
  /** The kernel's boot id: a deadline on the boot clock means nothing after a reboot. */
  bootId(): string;
  /** Writes a confirmed config over the real file behind `path` (atomically), keeping the old one as `.bak`. */
  installConfig(path: string, text: string): Promise<{ path: string; backup?: string }>;
  /** The secrets file, refused unless only the daemon's user may read it (SECRETS_MODE, with the chmod). */
  readSecrets(path: string): Promise<Secrets>;
  /** One HTTP request (dyndns, webhooks), from `localAddress` when given; throws HTTP_FAILED. */
  httpRequest(r: HttpRequest): Promise<HttpResponse>;
  /** One signed RFC 2136 update; never throws for network or DNS errors (the result says). */
  dnsUpdate(r: DnsUpdateRequest): Promise<DnsUpdateResult>;
  /** One mail by SMTP or the local sendmail; throws MAIL_FAILED. */
  sendMail(m: MailRequest): Promise<void>;
  /** The single-instance lock (flock on PATH); throws UplinkError('ALREADY_RUNNING'). */
  lock(path: string): InstanceLockHandle;
  /** The control socket: a unix socket (mode 0660) at `path`, a stale file there removed first. */
  listen(path: string, onClient: (s: Socket) => void): Promise<Listener>;
  /** The HTTP API's TCP listener (size limits and timeouts set); rejects when the address is taken. */
  listenHttp(host: string, port: number, handler: HttpHandler): Promise<HttpListener>;
  /** Sends one sd_notify datagram to $NOTIFY_SOCKET; false when there is none or it failed. */
  sdNotify(message: string): boolean;
  /** Set when systemd watches us ($NOTIFY_SOCKET): half its watchdog interval in ms, if it has one. */
  systemd(): { watchdogMs?: number } | undefined;
}
