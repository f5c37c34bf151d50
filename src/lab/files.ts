/** Files the lab's processes write for a test to read. */
import { readFileSync } from 'node:fs';

/** The file's non-empty lines; none while it does not exist yet. */
export function fileLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** The process exists and is no zombie (a zombie is dead: its parent merely has not reaped it). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return false;
  }
}
