/**
 * The state file: the last judged state of every uplink, admin actions and the
 * pids of connect processes, so a restarted daemon adopts instead of tearing
 * down. Written through the System's state store, atomically: a crash leaves the old
 * or the new file, never half of one.
 */
import { join } from 'node:path';
import type { StateStore } from '../system/system.js';
import type { UplinkState } from './state.js';
import { UplinkError } from '../errors.js';

/** What the state file keeps of a DHCP client. */
export interface SavedDhcp {
  pid?: number;
  startTime?: number;
  /** The interface it runs on (an uplink moved to another interface does not adopt it). */
  iface?: string;
  /** Addresses (CIDR) this uplink's leases put on the link and not yet seen gone. */
  owned: string[];
}

export interface SavedUplink {
  state: UplinkState;
  since: number;
  adminDown: boolean;
  adminBlocked: boolean;
  dialRequested: boolean;
  /** A demand uplink dialed by traffic (it must stay up across a restart until idle). */
  demandWanted?: boolean;
  /** `uplink demand NAME off`: traffic does not dial it. */
  demandOff?: boolean;
  pid?: number;
  startTime?: number;
  /** Re-dial bookkeeping: a restart must not dial a blocked uplink or skip a holdoff. */
  dial?: { failures: number; gaveUp?: string; nextDialAt?: number };
  /** `address: dhcp`: the client to adopt, and the addresses its leases put on the link. */
  dhcp?: SavedDhcp;
}

/**
 * The format this daemon writes. Version 2 added `writtenBy`; each older version a daemon has
 * written is read through `migrate` (test/fixtures holds a file of each); a version this
 * daemon does not know is refused, never guessed at.
 */
export const STATE_VERSION = 2;

export interface SavedState {
  version: typeof STATE_VERSION;
  /** The uplinkd version that wrote it (for the admin reading the file after a downgrade). */
  writtenBy: string;
  selected?: string;
  forced?: string;
  uplinks: Record<string, SavedUplink>;
}

export const stateFile = (stateDir: string) => join(stateDir, 'state.json');

/** Version 1 (uplinkd 0.1 before the format carried its writer): the same fields. */
function migrate(raw: Record<string, unknown>): SavedState | undefined {
  if (typeof raw.uplinks !== 'object' || raw.uplinks === null) return undefined;
  if (raw.version === STATE_VERSION) return raw as unknown as SavedState;
  if (raw.version === 1) return { ...(raw as unknown as SavedState), version: STATE_VERSION, writtenBy: 'unknown' };
  return undefined;
}

/**
 * The state file in the current format, or undefined when there is none or it is not JSON
 * (a start without it only loses the admin overrides). A format version this daemon does not
 * know (a newer daemon wrote it, then was downgraded) throws STATE_VERSION: misread, it
 * could adopt the wrong processes or drop an admin's block.
 */
export async function loadState(store: StateStore, path: string): Promise<SavedState | undefined> {
  const text = await store.read(path);
  if (text === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const v = r.version;
  if (typeof v === 'number' && v > STATE_VERSION) {
    const by = typeof r.writtenBy === 'string' ? ` (written by uplinkd ${r.writtenBy})` : '';
    throw new UplinkError(
      'STATE_VERSION',
      `state file ${path} has format version ${v}${by}; this uplinkd reads versions 1 to ${STATE_VERSION}`,
      `run the newer uplinkd again, or move ${path} away to start without it (admin overrides such as force and block are then lost)`,
    );
  }
  return migrate(r);
}

export function saveState(store: StateStore, path: string, s: SavedState): Promise<void> {
  return store.write(path, `${JSON.stringify(s, null, 2)}\n`);
}
