/**
 * What the config file's owner and mode let others do. Whoever can write it runs commands as
 * root (`connect`, later jobs and hooks) and rewrites the firewall; the daemon says so at
 * start and on every reload, and still runs (refusing would take a gateway down over a chmod).
 */
import { stat } from 'node:fs/promises';

export async function configFileWarnings(path: string): Promise<string[]> {
  const st = await stat(path).catch(() => undefined);
  if (!st) return [];
  const out: string[] = [];
  const mode = `0${(st.mode & 0o777).toString(8)}`;
  const uid = process.getuid?.();
  if (st.mode & 0o002) out.push(`config ${path} is writable by every user (mode ${mode}): chmod o-w ${path}`);
  else if (st.mode & 0o020 && st.gid !== 0)
    out.push(
      `config ${path} is writable by its group (gid ${st.gid}, mode ${mode}): chmod g-w ${path} unless that group is meant to run commands as root`,
    );
  if (st.uid !== 0 && st.uid !== uid)
    out.push(`config ${path} is owned by uid ${st.uid}, who can rewrite it: chown root ${path}`);
  return out;
}
