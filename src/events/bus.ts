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
      type: 'conntrack';
      time: string;
      addresses: string[];
      deleted: number;
      examined: number;
      ok: boolean;
      message: string;
    };

type Without<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
export type EventInput = Without<DaemonEvent, 'time'>;

export class EventBus {
  private readonly subs = new Set<(e: DaemonEvent) => void>();
  private readonly recent: DaemonEvent[] = [];

  constructor(private readonly keep = 200) {}

  publish(input: EventInput): DaemonEvent {
    const e = { ...input, time: new Date().toISOString() } as DaemonEvent;
    this.recent.push(e);
    if (this.recent.length > this.keep) this.recent.shift();
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
    return [...this.recent];
  }
}
