/** The admin's commands on uplinks (`uplink up|down|force|unforce|block|unblock`). */
import { UplinkError } from '../errors.js';
import type { UplinkManager } from './manager.js';
import type { Uplink } from './uplink.js';

export type AdminAction = 'up' | 'down' | 'force' | 'block' | 'unblock';

function find(m: UplinkManager, name: string): Uplink {
  const u = m.uplinks.get(name);
  if (!u) throw new UplinkError('UNKNOWN_UPLINK', `no uplink named "${name}"`, `configured uplinks: ${[...m.uplinks.keys()].join(', ') || 'none'}`);
  return u;
}

export function adminAction(m: UplinkManager, action: AdminAction, name: string): string {
  const u = find(m, name);
  switch (action) {
    case 'up':
      // Up also lifts an admin block: the admin asked for this link.
      Object.assign(u, { adminDown: false, adminBlocked: false, dialRequested: true });
      u.driver?.unblock();
      return `${name}: up requested`;
    case 'down':
      Object.assign(u, { adminDown: true, dialRequested: false });
      return `${name}: taken down`;
    case 'force':
      m.forced = name;
      return `traffic pinned to ${name}`;
    case 'block':
      u.adminBlocked = true;
      return `${name}: blocked (no dialing, not selected)`;
    case 'unblock':
      u.adminBlocked = false;
      u.driver?.unblock();
      return `${name}: unblocked`;
  }
}

export function unforce(m: UplinkManager): string {
  const was = m.forced;
  m.forced = undefined;
  return was ? `no longer pinned to ${was}; automatic selection` : 'automatic selection (nothing was forced)';
}
