/**
 * The state store on disk: every write is atomic (write a temp file, fsync it, rename it over
 * the old one, fsync the directory), so a crash or power cut leaves the old file or the new
 * one, never half of one, and the rename itself survives.
 */
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { urandom } from './random.js';
import type { StateStore } from './system.js';

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The file's owner, set before the rename: the file never shows with another owner. */
export type Owner = { uid: number; gid: number };

export const diskStore: StateStore & {
  write(path: string, text: string, mode?: number, owner?: Owner): Promise<void>;
} = {
  async read(path) {
    try {
      return await readFile(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  async write(path: string, text: string, mode = 0o600, owner?: Owner) {
    const dir = dirname(path);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // A fresh name, created exclusively: a file or symlink planted under a predictable name is never followed.
    const tmp = `${path}.${urandom(6).toString('hex')}.tmp`;
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(text);
      await fh.chmod(mode); // the umask may have narrowed open()'s mode
      if (owner) await fh.chown(owner.uid, owner.gid);
      await fh.sync();
    } catch (e) {
      await fh.close();
      await rm(tmp, { force: true });
      throw e;
    }
    await fh.close();
    try {
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true }); // never a stray temp file per failed write
      throw e;
    }
    await fsyncDir(dir);
  },
  async remove(path) {
    await rm(path, { force: true });
  },
  async ensureDir(path, o) {
    // A shared directory (RUN_DIR, which also holds the control socket) keeps its mode.
    if (o?.shared) {
      await mkdir(path, { recursive: true, mode: 0o755 });
      return {};
    }
    await mkdir(path, { recursive: true, mode: 0o700 });
    const st = await stat(path);
    // Only a directory we own: tightening someone else's (a shared /var/lib) is not ours to do.
    if ((st.mode & 0o077) === 0 || st.uid !== process.getuid?.()) return {};
    await chmod(path, 0o700);
    return { tightenedFrom: st.mode & 0o777 };
  },
};

/** An in-memory store (the fake System, and --dry-run's writes): `files` is what was written. */
export class MemoryStore implements StateStore {
  readonly files = new Map<string, string>();
  constructor(private readonly fallback?: StateStore) {}
  async read(path: string) {
    return this.files.has(path) ? this.files.get(path) : this.fallback?.read(path);
  }
  async write(path: string, text: string, _mode?: number) {
    this.files.set(path, text);
  }
  async remove(path: string) {
    this.files.delete(path);
  }
  async ensureDir() {
    return {};
  }
}
