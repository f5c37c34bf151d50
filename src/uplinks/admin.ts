/** The admin's commands on an uplink (`uplink up|down|block|unblock`), as field changes (pure); the manager applies them. */
import type { Uplink } from './uplink.js';

export type AdminAction = 'up' | 'down' | 'force' | 'block' | 'unblock';

export interface AdminChange {
  set: Partial<Pick<Uplink, 'adminDown' | 'adminBlocked' | 'dialRequested'>>;
  /** Forget a give-up and the re-dial backoff. */
  unblockDriver: boolean;
  message: string;
}

export function adminChange(action: Exclude<AdminAction, 'force'>): AdminChange {
  switch (action) {
    case 'up':
      // Up also lifts an admin block: the admin asked for this link.
      return {
        set: { adminDown: false, adminBlocked: false, dialRequested: true },
        unblockDriver: true,
        message: 'up requested',
      };
    case 'down':
      return { set: { adminDown: true, dialRequested: false }, unblockDriver: false, message: 'taken down' };
    case 'block':
      return { set: { adminBlocked: true }, unblockDriver: false, message: 'blocked (no dialing, not selected)' };
    case 'unblock':
      return { set: { adminBlocked: false }, unblockDriver: true, message: 'unblocked' };
  }
}
