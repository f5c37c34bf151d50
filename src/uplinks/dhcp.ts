/**
 * The DHCP client of one `address: dhcp` uplink: busybox udhcpc, supervised through the System
 * door, detached (it outlives a daemon restart, as connect commands do). Its script only
 * appends events to STATE_DIR/dhcp/IF.lease; this side watches that file, folds it into the
 * lease now (src/dhcp/lease.ts) and tells the manager, which puts the address on the link and
 * the gateway into the uplink's table.
 *
 * Hitless: a client is started with `-r` and the address the link holds; a restarted daemon
 * adopts it by pid and start time and reads the file (a client without a lease is asked to
 * start over, SIGUSR1; a bound one is left alone). `quit` leaves client and lease in place;
 * `quit --teardown` releases (SIGUSR2) and stops it. Addresses it put on the link are
 * recorded (`owned`, in the state file): only those are ever taken off again.
 */
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import { LEASE_FILE_ENV, UDHCPC_SCRIPT, udhcpcCommand } from '../dhcp/client.js';
import { expiresAt, foldLeases, renewsAt, type Lease, type LeaseState } from '../dhcp/lease.js';
import { after, type Timer } from '../model/timer.js';
import type { DirWatch, SupervisedProcess, System } from '../system/system.js';
import type { SavedDhcp } from './persist.js';

export interface DhcpDeps {
  name: string;
  iface: string;
  stateDir: string;
  system: System;
  log: Logger;
  onChange: (why: string) => void;
  /** Installs the script all clients share (once per daemon) and gives its path. */
  script: () => Promise<string>;
}

/** Writes the script udhcpc runs (0700, atomically) into the state dir's dhcp/; its path. */
export async function installDhcpScript(system: System, stateDir: string): Promise<string> {
  const dir = dhcpDir(stateDir);
  await system.store.ensureDir(dir);
  const path = join(dir, 'udhcpc.script');
  await system.store.write(path, UDHCPC_SCRIPT, 0o700);
  return path;
}

const RESPAWN_MIN_MS = 1000;
const RESPAWN_MAX_MS = 60_000;
/** How long a teardown waits for the release to be written before it stops the client. */
const RELEASE_WAIT_MS = 2000;
/** A renewal is overdue this long after T1 (udhcpc retries a renewal a few times within seconds). */
const RENEW_SLACK_MS = 30_000;

export const dhcpDir = (stateDir: string) => join(stateDir, 'dhcp');

const cidrOf = (l: Lease) => `${l.address}/${l.prefixlen}`;

export class DhcpClient {
  private proc?: SupervisedProcess;
  private st: LeaseState = {};
  private readonly owned = new Set<string>();
  private watch?: DirWatch;
  private respawn?: Timer;
  private expiry?: Timer;
  private exits = 0;
  private stopped = false;
  private ready = false;
  private leaseKey = '';
  private present = false;
  private reading = Promise.resolve();

  constructor(private readonly d: DhcpDeps) {}

  get leaseFile(): string {
    return join(dhcpDir(this.d.stateDir), `${this.d.iface}.lease`);
  }
  private script = '';

  /** Installs the script, watches the lease file, adopts a client the last daemon left running. */
  async start(saved?: SavedDhcp): Promise<void> {
    const dir = dhcpDir(this.d.stateDir);
    this.script = await this.d.script();
    if (this.stopped) return;
    this.watch = this.d.system.watchDir(dir, (f) => {
      if (f === basename(this.leaseFile)) void this.reread();
    });
    await this.reread();
    // The interface the client was started on: an uplink moved to another one starts afresh.
    const same = !saved?.iface || saved.iface === this.d.iface;
    for (const c of same ? (saved?.owned ?? []) : []) this.owned.add(c);
    if (saved?.pid && saved.startTime) {
      const p = this.d.system.adopt(saved.pid, { startTime: saved.startTime, logFile: this.logFile() });
      if (p && !same) {
        this.d.log.warn({ pid: p.pid, was: saved.iface }, `${this.d.name}: stopping the DHCP client of ${saved.iface}`);
        await p.stop();
      } else if (p) {
        this.follow(p);
        // Only a client without a lease is asked to start over (SIGUSR1): a bound udhcpc renews
        // once, rebinds for -T seconds and then drops the lease if its server is away
        // (docs/platform-notes.md). The file already holds all it said while we were away.
        if (!this.st.lease) p.signal('SIGUSR1');
      }
    }
    this.ready = !this.stopped;
    this.d.onChange('dhcp client ready');
  }

  private logFile(): string {
    return join(dhcpDir(this.d.stateDir), `${this.d.iface}.log`);
  }

  /** Level-triggered from each judgement: a client runs while the interface exists. */
  ensure(present: boolean, onLink: (address: string) => boolean): void {
    // An interface that came back (a modem plugged in again) gets its client at once, not after the backoff.
    if (present && !this.present) {
      this.respawn?.clear();
      this.respawn = undefined;
      this.exits = 0;
    }
    this.present = present;
    if (!this.ready || this.stopped || this.proc || this.respawn || !present) return;
    const held = this.st.lease && onLink(this.st.lease.address) ? this.st.lease.address : undefined;
    try {
      const p = this.d.system.spawn({
        command: udhcpcCommand({ iface: this.d.iface, script: this.script, requestIp: held }),
        env: { [LEASE_FILE_ENV]: this.leaseFile },
        logFile: this.logFile(),
      });
      this.d.log.info({ pid: p.pid, requestIp: held }, `${this.d.name}: DHCP client started on ${this.d.iface}`);
      this.follow(p);
    } catch (e) {
      this.d.log.error({ err: e }, `${this.d.name}: cannot start the DHCP client`);
      this.scheduleRespawn();
    }
  }

  private follow(p: SupervisedProcess): void {
    this.proc = p;
    void p.exited.then((r) => {
      if (this.proc !== p || this.stopped) return;
      this.proc = undefined;
      // 127: the shell found no busybox.
      if (r.code === 127)
        this.d.log.error({ pid: p.pid }, `${this.d.name}: busybox not found; install it (apt-get install busybox)`);
      else this.d.log.warn({ ...r, pid: p.pid }, `${this.d.name}: DHCP client exited; starting it again`);
      this.scheduleRespawn();
      this.d.onChange('dhcp client exited');
    });
  }

  private scheduleRespawn(): void {
    const ms = Math.min(RESPAWN_MIN_MS * 2 ** this.exits, RESPAWN_MAX_MS);
    this.exits++;
    this.respawn = after(ms, () => {
      this.respawn = undefined;
      this.d.onChange('dhcp client restart due');
    });
  }

  /** Re-reads one at a time, in order: an older read finishing last must not win. */
  private reread(): Promise<void> {
    this.reading = this.reading.then(() => this.readOnce()).catch((e) => this.d.log.warn({ err: e }, 'lease file'));
    return this.reading;
  }

  private async readOnce(): Promise<void> {
    const text = (await this.d.system.store.read(this.leaseFile)) ?? '';
    if (this.stopped) return;
    const now = Date.now();
    this.st = foldLeases(text, now);
    const l = this.st.lease;
    if (l) this.exits = 0;
    this.expiry?.clear();
    this.expiry = l ? after(expiresAt(l) - now + 10, () => void this.reread()) : undefined;
    // Renewals are silent: only a new address, gateway or loss is news.
    const key = l ? `${cidrOf(l)}|${l.gateway}` : `none|${this.st.lost}`;
    if (key === this.leaseKey) return;
    this.leaseKey = key;
    this.d.log.info(
      l ? { address: cidrOf(l), gateway: l.gateway, server: l.serverId, leaseS: l.leaseS } : { why: this.st.lost },
      l ? `${this.d.name}: DHCP lease ${cidrOf(l)}` : `${this.d.name}: no DHCP lease`,
    );
    this.d.onChange(l ? `dhcp lease ${cidrOf(l)}` : 'dhcp lease gone');
  }

  /** The lease now (none once expired, released or lost). */
  lease(): Lease | undefined {
    return this.st.lease;
  }

  /**
   * The address to put on the link, and earlier ones of ours to take off it. `onLink`: whether
   * the link holds an address now (an owned one seen gone is forgotten). True when `owned`
   * changed (the state file must say so before the address goes on).
   */
  desired(onLink: (cidr: string) => boolean): { want: { address?: string; drop: string[] }; changed: boolean } {
    const l = this.st.lease;
    const address = l ? cidrOf(l) : undefined;
    let changed = false;
    // Ours only if we put it there: an address already on the link may be the admin's.
    if (address && !this.owned.has(address) && !onLink(address)) {
      this.owned.add(address);
      changed = true;
    }
    const drop: string[] = [];
    for (const c of this.owned) {
      if (c === address) continue;
      if (onLink(c)) drop.push(c);
      else {
        this.owned.delete(c);
        changed = true;
      }
    }
    return { want: { address, drop }, changed };
  }

  saved(): SavedDhcp {
    return {
      iface: this.d.iface,
      ...(this.proc ? { pid: this.proc.pid, startTime: this.proc.startTime } : {}),
      owned: [...this.owned].sort(),
    };
  }

  /** For status: the lease, the server, its age and the next renewal, and a server that stopped answering. */
  view(now = Date.now()) {
    const l = this.st.lease;
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      pid: this.proc?.pid,
      leaseFile: this.leaseFile,
      state: l ? 'bound' : this.proc ? 'requesting' : 'stopped',
      ...(l
        ? {
            address: cidrOf(l),
            gateway: l.gateway,
            server: l.serverId,
            leaseS: l.leaseS,
            obtainedAt: iso(l.obtainedAtMs),
            ageS: Math.max(0, Math.round((now - l.obtainedAtMs) / 1000)),
            renewAt: iso(renewsAt(l)),
            expiresAt: iso(expiresAt(l)),
            // udhcpc reports no failed renewals, only a lost lease: a renewal long past due says the server went quiet.
            renewOverdue: now > renewsAt(l) + RENEW_SLACK_MS,
          }
        : {}),
      ...(this.st.failingSinceMs ? { serverSilentSince: iso(this.st.failingSinceMs) } : {}),
      ...(this.st.lost && !l ? { lost: this.st.lost } : {}),
      ...(this.st.last ? { lastEvent: this.st.last.event, lastEventAt: iso(this.st.last.atMs) } : {}),
    };
  }

  /** Stops watching; the client keeps running unless `teardown` (then: release, stop). */
  async stop(teardown: boolean): Promise<void> {
    this.stopped = true;
    this.watch?.close();
    this.respawn?.clear();
    this.expiry?.clear();
    const p = this.proc;
    if (!teardown || !p) return;
    this.proc = undefined;
    const before = (await this.d.system.store.read(this.leaseFile)) ?? '';
    if (p.signal('SIGUSR2')) await this.releaseWritten(before);
    await p.stop();
    this.d.log.info({ pid: p.pid }, `${this.d.name}: DHCP lease released, client stopped`);
  }

  /** Waits (bounded) for the client's deconfig after a release: SIGTERM too early would cut it off. */
  private async releaseWritten(before: string): Promise<void> {
    const end = Date.now() + RELEASE_WAIT_MS;
    while (Date.now() < end) {
      const text = (await this.d.system.store.read(this.leaseFile)) ?? '';
      if (text.length > before.length && /\bdeconfig\b/.test(text.slice(before.length))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Addresses (CIDR) of ours on the link: teardown takes them off. */
  ownedAddresses(): string[] {
    return [...this.owned];
  }
}
