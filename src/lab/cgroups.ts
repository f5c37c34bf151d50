/**
 * Lab cleanup of a daemon's job cgroups (host-wide, unlike the namespaces): a lab daemon's
 * jobs outlive it by design, so at teardown whatever is left in ITS jobs cgroup — named after
 * its state dir, never a pattern — is killed and the cgroups are removed.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { jobsCgroup } from '../jobs/manager.js';
import { cgroupOf, cgroupPopulated, createCgroup, removeCgroup, signalCgroup } from '../system/supervise/cgroup.js';
import { sleep } from './harness.js';

/** Kill what is left in the jobs cgroup of the daemon with this state dir, then remove it. Never throws. */
export async function removeJobCgroups(stateDir: string): Promise<void> {
  const own = cgroupOf('self');
  if (!own) return;
  const parent = join(own, jobsCgroup(stateDir));
  if (existsSync(parent)) await removeTree(parent);
}

/** Depth first: a job's run leaves (and whatever cgroups a job made) before their parents. */
async function removeTree(dir: string): Promise<void> {
  let children: string[] = [];
  try {
    children = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(dir, e.name));
  } catch {
    return;
  }
  for (const c of children) await removeTree(c);
  signalCgroup(dir, 'SIGKILL');
  for (let i = 0; i < 100 && cgroupPopulated(dir); i++) await sleep(20);
  for (let i = 0; i < 50 && !removeCgroup(dir); i++) await sleep(20);
}

/** A cgroup v2 child can be made here (what the daemon's jobs need for containment). */
export function cgroupsWritable(): boolean {
  try {
    const dir = createCgroup(`uplinkd-probe-${process.pid}-${Date.now()}`);
    removeCgroup(dir);
    return true;
  } catch {
    return false;
  }
}
