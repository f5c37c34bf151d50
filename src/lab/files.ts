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

/** The process exists and is no zombie: the supervisor's own test, for the lab's checks. */
export { processAlive as alive } from '../system/supervise/proc.js';
