/**
 * Confirmed apply (docs/apply.md): `uplink apply FILE --confirm SECONDS` runs FILE's config
 * at once and rolls back to the last-good one unless `uplink confirm` comes by the deadline.
 * The deadline is the daemon's, persisted with the boot id on CLOCK_BOOTTIME, so a dropped
 * SSH session, a daemon restart or an NTP step changes nothing; the config file is written
 * only on confirm, with the bytes that were sent.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { UplinkError } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import type { AdminOverrides } from '../model/admin-overrides.js';
import { after, type Timer } from '../model/timer.js';
import type { System } from '../system/system.js';
import { APPLY_FILE, decideAtStart, parseRecord, type ApplyRecord, type StartDecision } from './record.js';

export interface ConfirmedApplyDeps {
  system: Pick<System, 'bootClock' | 'bootId' | 'installConfig' | 'store'>;
  bus: EventBus;
  log: Logger;
  stateDir: () => string;
  configPath: string;
  /** The running config's text and the admin overrides now: what a rollback returns to. */
  running: () => { text: string; overrides: AdminOverrides };
  /** Validates text as the next config (refusing what apply may not change); throws a coded error. */
  check: (text: string, file: string) => Promise<Config>;
  /** Parses last-good again for a rollback: no environment checks (it ran before; a rollback must not be refused). */
  load: (text: string, file: string) => Promise<Config>;
  /** Makes `config` (parsed from `text`) the running one; `restore`: a rollback's overrides. */
  swap: (config: Config, text: string, why: string, restore?: AdminOverrides) => Promise<unknown>;
  /** The daemon is stopping: a waiting client's connection closing is not the admin's doing. */
  stopping: () => boolean;
  /** The pending config was confirmed: what it removed can go now. */
  confirmed?: () => void;
}

/** About three years: beyond that a deadline is no deadline (and past what a Date holds). */
const MAX_SECONDS = 1e8;
const RETRY_MS = 2000;

export interface ApplyResult {
  file: string;
  seconds: number;
  deadline: string;
  replaced: boolean;
  message: string;
}

export class ConfirmedApply {
  private record?: ApplyRecord;
  private timer?: Timer;
  /** Which apply a waiting client belongs to: a re-apply makes an older client's drop moot. */
  private generation = 0;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(private readonly d: ConfirmedApplyDeps) {}

  private get file(): string {
    return join(this.d.stateDir(), APPLY_FILE);
  }

  /** At start, before the components: what the record on disk says to run. */
  async load(): Promise<StartDecision> {
    const r = parseRecord(await this.d.system.store.read(this.file));
    if (r === 'damaged') {
      this.d.log.error({ file: this.file }, 'the pending apply record is damaged; starting on the config file');
      await this.removeRecord();
      return { kind: 'none' };
    }
    return decideAtStart(r, this.d.system.bootId(), this.d.system.bootClock());
  }

  /** The daemon runs the pending config again (restarted in the same boot): the countdown goes on. */
  resume(record: ApplyRecord, leftMs: number): void {
    this.record = record;
    this.arm(leftMs);
    this.d.log.warn(
      { file: record.file, deadline: record.deadline },
      'pending apply resumed; confirm or it rolls back',
    );
  }

  /** Started on last-good: the record goes, the event says why. */
  async rolledBackAtStart(record: ApplyRecord, why: string): Promise<void> {
    await this.removeRecord();
    this.d.log.warn({ file: record.file }, `rolled back to the last-good config: ${why}`);
    this.d.bus.publish({ type: 'apply', action: 'rollback', file: record.file, message: why });
  }

  /** A confirm whose record removal a crash cut short: the file holds the pending bytes already. */
  async confirmedAtStart(record: ApplyRecord): Promise<void> {
    await this.removeRecord();
    this.d.log.info({ file: record.file }, 'the pending apply was confirmed before a restart; keeping it');
  }

  pending(): ApplyRecord | undefined {
    return this.record;
  }

  /** Runs `fn` (a reload) between applies, confirms and rollbacks, never beside one. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.serial(fn);
  }

  /** The record goes; a state dir that refuses (read-only flash) is logged, never fatal. */
  private async removeRecord(): Promise<void> {
    try {
      await this.d.system.store.remove(this.file);
    } catch (e) {
      this.d.log.error({ err: e, file: this.file }, 'cannot remove the pending apply record');
    }
  }

  stop(): void {
    this.timer?.clear();
  }

  /**
   * `uplink apply FILE --confirm SECONDS`: validate, snapshot last-good, run it, start the
   * countdown. `onClientClose` (`--wait`): watched from the moment the apply is pending.
   */
  apply(text: string, file: string, seconds: number, onClientClose?: (fn: () => void) => void): Promise<ApplyResult> {
    return this.serial(async () => {
      if (!(seconds > 0) || !(seconds <= MAX_SECONDS))
        throw new UplinkError(
          'APPLY_SECONDS',
          `--confirm needs a positive number of seconds up to ${MAX_SECONDS}, not ${seconds}`,
        );
      const refuseIfStopping = () => {
        if (this.d.stopping())
          throw new UplinkError(
            'DAEMON_STOPPING',
            'uplinkd is stopping; apply refused',
            'apply again once uplinkd runs',
          );
      };
      // Before validating (a big config takes seconds) and after (the stop may have begun meanwhile).
      refuseIfStopping();
      const next = await this.d.check(text, file);
      refuseIfStopping();
      const now = this.d.system.bootClock();
      const deadline = new Date(Date.now() + seconds * 1000).toISOString();
      const replaced = this.record !== undefined;
      const record: ApplyRecord = {
        version: 1,
        bootId: this.d.system.bootId(),
        deadlineBootMs: now + seconds * 1000,
        deadline,
        seconds,
        file,
        appliedAt: new Date().toISOString(),
        pending: text,
        // Re-applying keeps the first snapshot: last-good is what ran before any of them.
        lastGood: this.record?.lastGood ?? this.d.running(),
      };
      try {
        await this.d.system.store.write(this.file, `${JSON.stringify(record)}\n`);
      } catch (e) {
        throw new UplinkError(
          'APPLY_STATE',
          `cannot record the pending apply in ${this.file}: ${(e as Error).message}; nothing was applied`,
          'a confirmed apply needs a writable state dir',
        );
      }
      this.record = record;
      this.generation++;
      if (onClientClose) this.watchClient(onClientClose);
      this.arm(seconds * 1000);
      try {
        await this.d.swap(next, text, `apply ${file}`);
      } catch (e) {
        // Half applied is worse than not at all: back to last-good now, and say so.
        await this.doRollback(`applying ${file} failed: ${(e as Error).message}`).catch((r: unknown) =>
          this.d.log.error({ err: r }, 'rollback after a failed apply failed'),
        );
        throw e;
      }
      const message = `applied ${file}${replaced ? ' (replacing the pending apply)' : ''}; rolls back at ${deadline} unless \`uplink confirm\``;
      this.d.log.warn({ file, seconds, deadline }, message);
      this.d.bus.publish({ type: 'apply', action: 'apply', file, deadline, message });
      return { file, seconds, deadline, replaced, message };
    });
  }

  /** `--wait`: when this client's connection drops while its apply is pending, roll back. */
  private watchClient(onClose: (fn: () => void) => void): void {
    const mine = this.generation;
    onClose(() => {
      if (this.d.stopping() || !this.record || this.generation !== mine) return;
      void this.rollback('the `uplink apply --wait` client went away', mine).catch((e: unknown) =>
        this.d.log.error({ err: e }, 'rollback failed'),
      );
    });
  }

  /** `uplink confirm`: the pending config stays and is written to the config file. */
  confirm(): Promise<{ message: string; path: string; backup?: string }> {
    return this.serial(async () => {
      const r = this.need('confirm');
      const written = await this.d.system.installConfig(this.d.configPath, r.pending);
      this.clear();
      await this.removeRecord();
      this.d.confirmed?.();
      const message = `confirmed ${r.file}; written to ${written.path}${written.backup ? ` (previous file kept as ${written.backup})` : ''}`;
      this.d.log.info(message);
      this.d.bus.publish({ type: 'apply', action: 'confirm', file: r.file, message });
      return { message, ...written };
    });
  }

  /**
   * `uplink rollback`, a missed deadline, a waiting client gone: last-good runs again,
   * overrides and all. `generation`: only if the apply it was meant for is still the pending one.
   */
  rollback(why: string, generation?: number): Promise<{ message: string }> {
    return this.serial(async () => {
      if (generation !== undefined && (generation !== this.generation || !this.record))
        return { message: 'that apply is no longer pending' };
      return this.doRollback(why);
    });
  }

  private async doRollback(why: string): Promise<{ message: string }> {
    const r = this.need('roll back');
    const last = await this.d.load(r.lastGood.text, 'last-good config');
    // The record goes first: a crash from here on must never resume the config being undone.
    this.clear();
    await this.removeRecord();
    await this.d.swap(last, r.lastGood.text, `rollback: ${why}`, r.lastGood.overrides);
    const message = `rolled back ${r.file} to the last-good config: ${why}`;
    this.d.log.warn(message);
    this.d.bus.publish({ type: 'apply', action: 'rollback', file: r.file, message });
    return { message };
  }

  /** For status: the pending apply and how long it has left. */
  view(): { file: string; appliedAt: string; deadline: string; secondsLeft: number } | undefined {
    const r = this.record;
    if (!r) return undefined;
    const left = Math.max(0, (r.deadlineBootMs - this.d.system.bootClock()) / 1000);
    return { file: r.file, appliedAt: r.appliedAt, deadline: r.deadline, secondsLeft: Math.round(left * 10) / 10 };
  }

  private need(what: string): ApplyRecord {
    if (!this.record)
      throw new UplinkError('NO_PENDING_APPLY', `nothing to ${what}: no apply is pending`, 'see `uplink status`');
    return this.record;
  }

  private clear(): void {
    this.timer?.clear();
    this.timer = undefined;
    this.record = undefined;
    this.generation++;
  }

  private arm(ms: number): void {
    this.timer?.clear();
    this.timer = after(ms, () => this.due());
  }

  /** The timer fired: the boot clock decides (a timer may run early or late, never the deadline). */
  private due(): void {
    const r = this.record;
    if (!r) return;
    const left = r.deadlineBootMs - this.d.system.bootClock();
    if (left > 0) return this.arm(left);
    const mine = this.generation;
    void this.rollback(`not confirmed within ${r.seconds}s`, mine).catch((e: unknown) => {
      // Never give up: the admin may be locked out until it happens.
      this.d.log.error({ err: e }, 'rollback failed; trying again in 2s');
      if (this.record && this.generation === mine) this.arm(RETRY_MS);
    });
  }

  /** One apply, confirm or rollback at a time: each reads and replaces the record. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.busy.then(fn, fn);
    this.busy = run.catch(() => undefined);
    return run;
  }
}
