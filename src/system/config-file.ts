/**
 * Writing a confirmed config over the daemon's config file (docs/apply.md): to the real file
 * behind a symlink (the link itself stays), atomically, with its mode and owner, after the
 * previous contents were kept as FILE.bak.
 */
import { realpath, stat } from 'node:fs/promises';
import { diskStore } from './store.js';

export async function installConfig(path: string, text: string): Promise<{ path: string; backup?: string }> {
  const real = await realpath(path).catch(() => path);
  const st = await stat(real).catch(() => undefined);
  const mode = st ? st.mode & 0o7777 : 0o640;
  let backup: string | undefined;
  const old = await diskStore.read(real);
  if (old !== undefined) {
    backup = `${real}.bak`;
    await diskStore.write(backup, old, mode, st);
  }
  await diskStore.write(real, text, mode, st);
  return { path: real, ...(backup ? { backup } : {}) };
}
