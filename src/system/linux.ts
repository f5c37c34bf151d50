/**
 * The real System: rtnetlink for watching and for route and rule changes, `ip -batch` for
 * addresses, /proc/sys for sysctls, `nft -j -f` for the ruleset, ctnetlink for conntrack, a
 * TUN per demand proxy, supervised processes, the state store, the lock and the control socket.
 */
import { execFile } from 'node:child_process';
import { readFileSync, watch, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { UplinkError } from '../errors.js';
import { LinuxKernelWatch } from './kernel-watch.js';
import type { KernelWatch } from './kernel.js';
import { applyRoute, applyRule, EXISTS_ANSWER, GONE_ANSWER } from './netlink/route-ops.js';
import {
  batchLine,
  displayCommand,
  KernelRefused,
  opEvent,
  opFamily,
  type KernelOp,
  type RefusedOp,
} from '../model/ops.js';
import { flushRoutedFlows, flushSnatFlows } from './conntrack/index.js';
import { followFile, type FileFollow, type FollowOptions } from './follow.js';
import { hookFiles, programProblem, type HookFile } from './trust.js';
import { openTunReader, type TunHandle } from './tun/index.js';
import { nftApply, nftListChains, nftListSet, nftListTable, nftListText } from './nft.js';
import { Prober } from './probe/prober.js';
import type {
  AdoptOptions,
  DirWatch,
  InstanceLockHandle,
  ProxyOptions,
  SuperviseOptions,
  SupervisedProcess,
  System,
} from './system.js';
import { Supervised } from './supervise.js';
import { endLeftoverCgroup } from './supervise/cgroup.js';
import { sleep } from './supervise/run.js';
import { sendRouterSolicitation } from './router-solicit.js';
import { diskStore } from './store.js';
import { configFileWarnings } from './file-modes.js';
import { InstanceLock } from './lock.js';
import { bootClockMs, bootId, scheduleClockOffset } from './clock.js';
import { readSecretsFile } from './secrets-file.js';
import { httpRequest } from './outbound/http.js';
import { sendMail } from './outbound/mail.js';
import { dnsUpdate } from './outbound/dns-update.js';
import type { HttpRequest, HttpResponse } from './outbound/http.js';
import type { MailRequest } from './outbound/mail.js';
import type { DnsUpdateRequest, DnsUpdateResult } from '../model/dns-update.js';
import { installConfig } from './config-file.js';
import { listenUnix } from './control-socket.js';
import { listenHttp, type HttpHandler } from './http-listen.js';
import { NotifySocket, notifySocketFromEnv, watchdogIntervalMs } from './sd-notify.js';
import type { Socket } from 'node:net';
import type { RouteFilter } from '../model/kernel.js';

const run = promisify(execFile);

/** The ifalias that marks a TUN as one of our demand proxies. */
const PROXY_ALIAS = 'uplinkd demand proxy';

/** An interface's alias; undefined when there is no such interface. */
function proxyAlias(name: string): string | undefined {
  try {
    return readFileSync(`/sys/class/net/${name}/ifalias`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Keys are written with slashes (net/ipv4/conf/eth0.100/...) so interface names may hold dots. */
export const sysctlPath = (key: string) => `/proc/sys/${key}`;

/** A sysctl's value now; undefined when there is no such key (or /proc/sys is not readable). */
export function readSysctl(key: string): string | undefined {
  try {
    return readFileSync(sysctlPath(key), 'utf8').trim();
  } catch {
    return undefined;
  }
}

async function runBatch(family: 4 | 6, lines: string[]): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'uplinkd-'));
  const file = join(dir, 'batch');
  try {
    await writeFile(file, `${lines.join('\n')}\n`);
    // -force: one refused line must not keep the lines after it from ever being applied.
    await run('ip', [`-${family}`, '-force', '-batch', file]);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new UplinkError(
      'SYSTEM',
      `ip -batch failed: ${(err.stderr || err.message).trim()}`,
      'the next reconcile retries what is still missing',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export class LinuxSystem implements System {
  readonly kind: 'linux' | 'dry-run' = 'linux';
  readonly store = diskStore;
  readonly configFileWarnings = configFileWarnings;
  readonly readSecrets = readSecretsFile;
  httpRequest(r: HttpRequest): Promise<HttpResponse> {
    return httpRequest(r);
  }

  sendMail(m: MailRequest): Promise<void> {
    return sendMail(m);
  }

  dnsUpdate(r: DnsUpdateRequest): Promise<DnsUpdateResult> {
    return dnsUpdate(r);
  }
  constructor(protected readonly log: Logger) {}

  spawn(o: SuperviseOptions): SupervisedProcess {
    return Supervised.start(o, this.log.child({ component: 'process' }));
  }

  adopt(pid: number, o: AdoptOptions): SupervisedProcess | undefined {
    return Supervised.adopt(pid, this.log.child({ component: 'process' }), o);
  }

  bootClock(): number {
    return bootClockMs();
  }

  bootId(): string {
    return bootId();
  }

  private readonly wallOffset = scheduleClockOffset(process.env.UPLINKD_SCHEDULE_CLOCK);
  wallClock(): number {
    return Date.now() + this.wallOffset;
  }

  installConfig(path: string, text: string) {
    return installConfig(path, text);
  }

  async endCgroup(dir: string): Promise<void> {
    if (!(await endLeftoverCgroup(dir, sleep)))
      this.log.warn({ cgroup: dir }, 'what a dead job instance left in its cgroup could not all be ended');
  }

  lock(path: string): InstanceLockHandle {
    const l = new InstanceLock(path);
    l.acquire();
    return l;
  }

  listen(path: string, onClient: (s: Socket) => void) {
    return listenUnix(path, onClient, this.log.child({ component: 'control' }));
  }

  listenHttp(host: string, port: number, handler: HttpHandler) {
    return listenHttp(host, port, handler, this.log.child({ component: 'http' }));
  }

  private notifySocket?: NotifySocket;
  sdNotify(message: string): boolean {
    const path = notifySocketFromEnv();
    if (!path) return false;
    this.notifySocket ??= new NotifySocket(path);
    return this.notifySocket.send(message);
  }

  systemd(): { watchdogMs?: number } | undefined {
    if (!notifySocketFromEnv()) return undefined;
    const ms = watchdogIntervalMs(process.env);
    return ms === undefined ? {} : { watchdogMs: ms };
  }

  kernelWatch(filter: RouteFilter, rcvbuf?: number, carrierPollMs?: number): KernelWatch {
    this.watch = new LinuxKernelWatch(filter, this.log.child({ component: 'netlink' }), rcvbuf, carrierPollMs);
    return this.watch;
  }
  private watch?: LinuxKernelWatch;

  prober() {
    return new Prober(this.log.child({ component: 'probe' }));
  }

  /**
   * In order: routes and rules straight over rtnetlink (no spawn), addresses in `ip -batch`
   * runs between them. Like `ip -force`, a refused op does not stop the ones after it;
   * the first refusal is thrown at the end.
   */
  async apply(ops: KernelOp[]): Promise<void> {
    const refused: RefusedOp[] = [];
    for (let i = 0; i < ops.length; ) {
      const direct = !('addr' in ops[i]!);
      let j = i;
      while (j < ops.length && !('addr' in ops[j]!) === direct) j++;
      const seg = ops.slice(i, j);
      i = j;
      if (direct) {
        for (const o of seg) {
          const error = 'route' in o ? applyRoute(o.op, o.route) : 'rule' in o ? applyRule(o.op, o.rule) : undefined;
          // The identical rule is there already (the world had not seen it yet): adopt it, quietly.
          if ('rule' in o && o.op === 'add' && error === EXISTS_ANSWER) this.watch?.echo([opEvent(o, () => 0)]);
          // Gone already: the kernel dropped it unannounced. Re-read rather than retry (no storm).
          else if ('route' in o && o.op === 'del' && error === GONE_ANSWER)
            this.watch?.reread(`${displayCommand(o)}: no such route`);
          else if (error) refused.push({ op: o, error });
        }
        continue;
      }
      for (const family of [4, 6] as const) {
        const mine = seg.filter((o) => opFamily(o) === family);
        if (mine.length)
          await runBatch(family, mine.map(batchLine)).catch((e: Error) =>
            refused.push(...mine.map((op) => ({ op, error: e.message }))),
          );
      }
    }
    if (refused.length) throw new KernelRefused(refused);
  }

  hookFiles(dir: string): HookFile[] {
    return hookFiles(dir);
  }

  programProblem(program: string, o?: { cwd?: string; path?: string }): string | undefined {
    return programProblem(program, o);
  }

  followFile(path: string, onLines: (lines: string[]) => void, o: FollowOptions): FileFollow {
    return followFile(path, onLines, o);
  }

  watchDir(dir: string, onChange: (file: string) => void): DirWatch {
    const w = watch(dir, { persistent: false }, (_event, file) => onChange(String(file ?? '')));
    w.on('error', (e) => this.log.warn({ err: e, dir }, 'cannot watch directory'));
    return { close: () => w.close() };
  }

  async routerSolicit(iface: string, mac?: string): Promise<void> {
    sendRouterSolicitation(iface, mac);
  }

  nft(batch: unknown, check = false): Promise<void> {
    return nftApply(batch, check);
  }

  nftList(table: string, terse?: { full: string[] }) {
    return nftListTable(table, terse);
  }

  nftChains() {
    return nftListChains();
  }

  nftSetElements(table: string, set: string) {
    return nftListSet(table, set);
  }

  async nftSnapshot(table: string, file: string): Promise<void> {
    const text = await nftListText(table);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(`${file}.tmp`, text);
    await rename(`${file}.tmp`, file);
  }

  conntrackFlush(snatAddrs: string[]) {
    return flushSnatFlows(snatAddrs);
  }

  conntrackReleaseRouted(prefixes: string[]) {
    return flushRoutedFlows(prefixes);
  }

  async openProxy(o: ProxyOptions): Promise<TunHandle> {
    // Re-attach only to a proxy of ours: an interface of that name that someone else made is left alone.
    const alias = proxyAlias(o.name);
    if (alias !== undefined && alias !== PROXY_ALIAS) {
      throw new UplinkError(
        'SYSTEM',
        `interface ${o.name} exists and is not a demand proxy of ours`,
        'set proxy_interface to a free name',
      );
    }
    const tun = openTunReader(o.name, o.onPackets, o.onError);
    try {
      // Before the link goes up, or the kernel sends router solicitations and MLD on it.
      await this.sysctl(`net/ipv6/conf/${o.name}/disable_ipv6`, '1');
      // Replayed packets: loose reverse-path check (the distributions' default is 2, and strict
      // drops them), and the gateway's own packets are accepted back (on this interface alone).
      await this.sysctl(`net/ipv4/conf/${o.name}/rp_filter`, '2');
      await this.sysctl(`net/ipv4/conf/${o.name}/accept_local`, '1');
      // The gateway's own packets come back in on the proxy and must be forwarded from it,
      // also on a gateway without a LAN (where ip_forward may be off).
      await this.sysctl(`net/ipv4/conf/${o.name}/forwarding`, '1');
      await run('ip', ['link', 'set', 'dev', o.name, 'txqueuelen', '4096', 'alias', PROXY_ALIAS, 'up']);
      await run('ip', ['-4', 'address', 'replace', `${o.address}/32`, 'dev', o.name]);
    } catch (e) {
      await tun.close();
      const err = e as { stderr?: string; message: string };
      throw new UplinkError(
        'SYSTEM',
        `cannot set up the demand proxy ${o.name}: ${(err.stderr || err.message).trim()}`,
        'uplinkd needs root and /dev/net/tun',
      );
    }
    return tun;
  }

  async removeProxy(name: string): Promise<void> {
    if (proxyAlias(name) !== PROXY_ALIAS) return; // gone already, or not ours
    await run('ip', ['link', 'del', 'dev', name]).catch(() => undefined);
  }

  /**
   * Synchronous on purpose: a /proc/sys read takes microseconds, while the threadpool may be
   * busy (a state file's fsync) and every reconcile checks these before its routes.
   */
  async sysctl(key: string, value: string): Promise<boolean> {
    const cur = readSysctl(key);
    if (cur === undefined || cur === value) return false;
    writeFileSync(sysctlPath(key), value);
    return true;
  }
}
