/** Runs a command once through the System door, killed with its process group after a timeout. */
import type { System } from '../system/system.js';
import { after } from '../model/timer.js';

export interface RunOnce {
  command: string;
  env: Record<string, string>;
  timeoutMs: number;
  logFile?: string;
}

export async function runOnce(system: Pick<System, 'spawn'>, o: RunOnce): Promise<{ ok: boolean; how: string }> {
  let p: ReturnType<System['spawn']>;
  try {
    p = system.spawn({
      command: o.command,
      env: o.env,
      cwd: '/',
      graceMs: 1000,
      ...(o.logFile ? { logFile: o.logFile } : {}),
    });
  } catch (e) {
    return { ok: false, how: `not started: ${(e as Error).message}` };
  }
  let timedOut = false;
  const timer = after(o.timeoutMs, () => {
    timedOut = true;
    void p.stop({ graceMs: 1000 });
  });
  const r = await p.exited;
  timer.clear();
  if (timedOut) return { ok: false, how: `killed after ${Math.round(o.timeoutMs / 1000)} s` };
  if (r.signal) return { ok: false, how: `killed by ${r.signal}` };
  return { ok: r.code === 0, how: `exited with status ${r.code}` };
}
