/** Typed daemon events: what `uplink monitor`, logs and (later) hooks and SSE see. */
import type { ChangeDelta } from '../world/delta.js';

export type DaemonEvent =
  | { type: 'kernel'; time: string; summary: string; delta: ChangeDelta }
  | { type: 'reconcile'; time: string; commands: string[]; deferred: number; error?: string }
  | { type: 'config'; time: string; ok: boolean; message: string }
  | { type: 'daemon'; time: string; message: string }
  | {
      type: 'uplink';
      time: string;
      name: string;
      event: 'state' | 'dial' | 'blocked' | 'admin';
      state: string;
      prev?: string;
      reason: string;
    }
  | { type: 'selection'; time: string; selected?: string; prev?: string; reason: string }
  | {
      /** A routed LAN entry's prefixes moved to another via uplink, onto their fallback, or back. */
      type: 'routed';
      time: string;
      interface: string;
      prefixes: string[];
      carrier?: string;
      prev?: string;
      fallback: 'masquerade' | 'drop';
      message: string;
    }
  | { type: 'firewall'; time: string; generation: number; ok: boolean; message: string }
  | {
      type: 'demand';
      time: string;
      name: string;
      event: 'dial' | 'replay' | 'hangup' | 'mode' | 'proxy';
      message: string;
    }
  | {
      type: 'job';
      time: string;
      name: string;
      event: 'start' | 'exit' | 'stop' | 'restart' | 'failed' | 'adopt';
      message: string;
    }
  | {
      /** One hook run (or refused) for an uplink's event. */
      type: 'hook';
      time: string;
      uplink: string;
      event: string;
      hook: string;
      ok: boolean;
      message: string;
    }
  | {
      /** A confirmed apply: applied (pending, with its deadline), confirmed, or rolled back. */
      type: 'apply';
      time: string;
      action: 'apply' | 'confirm' | 'rollback';
      file: string;
      message: string;
      deadline?: string;
    }
  | {
      /** The schedule fired a cron entry's action, or a window started or stopped holding an uplink. */
      type: 'schedule';
      time: string;
      uplink?: string;
      action: string;
      ok: boolean;
      message: string;
    }
  | {
      type: 'conntrack';
      time: string;
      addresses: string[];
      deleted: number;
      examined: number;
      ok: boolean;
      message: string;
    };

/** The event types, for `uplink events --type` (checked against DaemonEvent below). */
export const EVENT_TYPES = [
  'kernel',
  'reconcile',
  'config',
  'daemon',
  'uplink',
  'selection',
  'routed',
  'firewall',
  'demand',
  'job',
  'hook',
  'conntrack',
  'apply',
  'schedule',
] as const;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _allTypes: Same<(typeof EVENT_TYPES)[number], DaemonEvent['type']> = true;
void _allTypes;

type Without<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
export type EventInput = Without<DaemonEvent, 'time'>;

/**
 * The history is bounded twice: by count, and by the events' size (a kernel delta of a route
 * flood can be large), so it never grows the daemon.
 */
export class EventBus {
  private readonly subs = new Set<(e: DaemonEvent) => void>();
  private readonly recent: { e: DaemonEvent; bytes: number }[] = [];
  private bytes = 0;

  constructor(
    private readonly keep = 500,
    private readonly maxBytes = 512 * 1024,
  ) {}

  publish(input: EventInput): DaemonEvent {
    const e = { ...input, time: new Date().toISOString() } as DaemonEvent;
    const bytes = JSON.stringify(e).length;
    this.recent.push({ e, bytes });
    this.bytes += bytes;
    while (this.recent.length > this.keep || (this.bytes > this.maxBytes && this.recent.length > 1))
      this.bytes -= this.recent.shift()!.bytes;
    for (const fn of this.subs) {
      try {
        fn(e);
      } catch {
        // A broken subscriber (a CLI that went away) must not stop the others.
      }
    }
    return e;
  }

  subscribe(fn: (e: DaemonEvent) => void): () => void {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }

  history(): DaemonEvent[] {
    return this.recent.map((r) => r.e);
  }
}
