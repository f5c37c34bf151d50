/**
 * Which hook events a daemon event means (pure; docs/hooks.md): an uplink's state change
 * (up, down, degraded), the selection moving (selected, unselected), a dial and a hang-up.
 * Address changes come from the reconcile passes (hooks/hooks.ts).
 */
import type { DaemonEvent } from '../events/bus.js';

export const HOOK_EVENTS = ['up', 'down', 'degraded', 'selected', 'unselected', 'address', 'dial', 'hangup'] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

export interface HookTrigger {
  uplink: string;
  event: HookEvent;
  prev?: string;
  state?: string;
}

/** States in which an uplink carries traffic: leaving them is `down`. */
const CARRYING = new Set(['up', 'degraded']);

export function hookTriggers(e: DaemonEvent): HookTrigger[] {
  switch (e.type) {
    case 'uplink':
      if (e.event === 'dial') return [{ uplink: e.name, event: 'dial', state: e.state }];
      if (e.event !== 'state') return [];
      if (e.state === 'up') return [{ uplink: e.name, event: 'up', state: e.state, prev: e.prev }];
      if (e.state === 'degraded') return [{ uplink: e.name, event: 'degraded', state: e.state, prev: e.prev }];
      if (e.prev !== undefined && CARRYING.has(e.prev) && e.state !== 'verifying')
        return [{ uplink: e.name, event: 'down', state: e.state, prev: e.prev }];
      return [];
    case 'selection':
      return [
        ...(e.prev ? [{ uplink: e.prev, event: 'unselected' as const }] : []),
        ...(e.selected ? [{ uplink: e.selected, event: 'selected' as const }] : []),
      ];
    case 'demand':
      return e.event === 'hangup' ? [{ uplink: e.name, event: 'hangup' }] : [];
    default:
      return [];
  }
}
