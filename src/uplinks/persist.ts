/**
 * The state file: the last judged state of every uplink, admin actions and the
 * pids of connect processes, so a restarted daemon adopts instead of tearing
 * down. Written through the System's state store, atomically: a crash leaves the old
 * or the new file, never half of one.
 */
import { join } from 'node:path';
import type { StateStore } from '../system/system.js';
import type { UplinkState } from './state.js';

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
}

export interface SavedState {
  version: 1;
  selected?: string;
  forced?: string;
  uplinks: Record<string, SavedUplink>;
}

export const stateFile = (stateDir: string) => join(stateDir, 'state.json');

/** The state file, or undefined when there is none (or it is not one we can read). */
export async function loadState(store: StateStore, path: string): Promise<SavedState | undefined> {
  try {
    const text = await store.read(path);
    const s = text === undefined ? undefined : (JSON.parse(text) as SavedState);
    return s?.version === 1 && typeof s.uplinks === 'object' ? s : undefined;
  } catch {
    return undefined;
  }
}

export function saveState(store: StateStore, path: string, s: SavedState): Promise<void> {
  return store.write(path, `${JSON.stringify(s, null, 2)}\n`);
}
