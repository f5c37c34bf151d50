/**
 * Is stderr connected to the systemd journal? systemd sets JOURNAL_STREAM to the device and
 * inode of the stream it gave us; a match (not mere presence: a child shell inherits the
 * variable with its stderr redirected elsewhere) means lines may carry a `<N>` priority prefix
 * (sd-daemon(3)), which journald strips and turns into PRIORITY=N.
 */
import { fstatSync } from 'node:fs';

export function stderrIsJournal(env: NodeJS.ProcessEnv = process.env, fd = 2): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!);
  } catch {
    return false;
  }
}
