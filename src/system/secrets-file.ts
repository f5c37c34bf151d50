/**
 * Reads the secrets file, refusing one that others could read or change: a TSIG key or SMTP
 * password readable by group or others is a leak already, so the daemon stops there with the
 * command that fixes it.
 */
import { readFile, stat } from 'node:fs/promises';
import { UplinkError } from '../errors.js';
import { parseSecrets, type Secrets } from '../config/secrets.js';

export async function readSecretsFile(path: string): Promise<Secrets> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (e) {
    throw new UplinkError(
      'SECRETS_READ',
      `cannot read secrets file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      `create it (mode 600, owned by root) or fix the secrets path`,
    );
  }
  const mode = st.mode & 0o777;
  if (mode & 0o077)
    throw new UplinkError(
      'SECRETS_MODE',
      `secrets file ${path} is readable or writable by ${mode & 0o070 ? 'its group' : 'others'} (mode ${mode.toString(8).padStart(3, '0')})`,
      `chmod 600 ${path}`,
    );
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== uid)
    throw new UplinkError(
      'SECRETS_MODE',
      `secrets file ${path} is owned by uid ${st.uid}, not by the daemon's (uid ${uid})`,
      `chown ${uid === 0 ? 'root' : uid} ${path}`,
    );
  return parseSecrets(await readFile(path, 'utf8'), path);
}
