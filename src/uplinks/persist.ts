/**
 * The state file: the last judged state of every uplink, admin actions and the
 * pids of connect processes, so a restarted daemon adopts instead of tearing
 * down. Written atomically (write, fsync, rename): a crash leaves the old or the
 * new file, never half of one.
 */
import { open, readFile, rename, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
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

export async function loadState(path: string): Promise<SavedState | undefined> {
  try {
    const s = JSON.parse(await readFile(path, 'utf8')) as SavedState;
    return s.version === 1 && typeof s.uplinks === 'object' ? s : undefined;
  } catch {
    return undefined;
  }
}

export async function saveState(path: string, s: SavedState): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(s, null, 2) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
