/**
 * Keys that only take effect at start. The kernel watch sorts routes and rules into ours and
 * foreign by control.kernel's protocol and ranges, fixed when it starts: changed on reload,
 * our routes and rules would silently turn "foreign" and never be cleaned up. The socket and
 * the state dir are held open. A reload (or, later, an apply) that changes one is refused.
 */
import { isDeepStrictEqual } from 'node:util';
import { UplinkError } from '../errors.js';
import type { Config } from './schema.js';

const RESTART_ONLY = [
  ['socket', 'restart uplinkd to move it'],
  ['state_dir', 'restart uplinkd to move it'],
  ['run_dir', "restart uplinkd to move it (the jobs' and hooks' output files are open there)"],
  [
    'kernel',
    'stop with `uplink quit --teardown` (removes our routes, rules and table under the old values), then start with the new ones',
  ],
  ['netlink_buffer', 'restart uplinkd (`systemctl restart uplinkd`; routes and rules stay in place)'],
] as const satisfies readonly (readonly [keyof Config['control'], string])[];

/** Throws CONFIG_RESTART_ONLY naming each changed key and how to change it. */
export function refuseRestartOnly(cur: Config, next: Config, action = 'reload'): void {
  const changed = RESTART_ONLY.filter(([k]) => !isDeepStrictEqual(cur.control[k], next.control[k]));
  if (!changed.length) return;
  throw new UplinkError(
    'CONFIG_RESTART_ONLY',
    `${changed.map(([k]) => `control.${k}`).join(', ')} cannot change on ${action}; the running config is kept`,
    changed.map(([k, how]) => `control.${k}: ${how}`).join('; '),
  );
}
