/**
 * Whether a file may be run as root: it and every directory above it are owned by root (or
 * the daemon's user) and not writable by group or others. A root-owned sticky directory
 * (/tmp) is fine: others can add files there but cannot replace ours. Symbolic links are
 * followed first, so the file that really runs is the one checked.
 */
import { existsSync, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Undefined when trusted; else why not, naming the path. */
export function untrusted(path: string): string | undefined {
  const written = resolve(path);
  try {
    // The path as written (a symbolic link is replaceable by whoever owns it or its
    // directory), then where it leads.
    return walk(written) ?? walk(realpathSync(written));
  } catch (e) {
    return `${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
}

/** Each of `p` and the directories above it: root's (or ours), not writable by others. */
function walk(p: string): string | undefined {
  const me = process.getuid?.() ?? 0;
  for (let q = p; ; q = dirname(q)) {
    const st = lstatSync(q);
    if (st.uid !== 0 && st.uid !== me) return `${q} is owned by uid ${st.uid}, not root`;
    const sticky = st.isDirectory() && (st.mode & 0o1000) !== 0 && st.uid === 0;
    if (!st.isSymbolicLink() && (st.mode & 0o022) !== 0 && !sticky)
      return `${q} is writable by ${st.mode & 0o002 ? 'others' : 'its group'}`;
    if (q === '/') return undefined;
  }
}

/** One executable in a hooks directory, or why it is not run. */
export interface HookFile {
  path: string;
  problem?: string;
}

/** run-parts' rule, roughly: names of letters, digits, `_` and `-` (no editor or package backups). */
const HOOK_NAME = /^[A-Za-z0-9_-]+$/;

/** The hooks in `dir` in name order, each checked (trusted, a regular executable file). */
export function hookFiles(dir: string): HookFile[] {
  if (!existsSync(dir)) return [];
  const bad = untrusted(dir);
  if (bad) return [{ path: dir, problem: `refused: ${bad}` }];
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? [] : [{ path: dir, problem: `${dir}: ${code ?? (e as Error).message}` }];
  }
  return names
    .filter((n) => HOOK_NAME.test(n))
    .map((n) => {
      const path = join(dir, n);
      let st: ReturnType<typeof statSync> | undefined;
      try {
        st = statSync(path, { throwIfNoEntry: false });
      } catch {
        return undefined; // gone meanwhile (a package upgrade renames files)
      }
      if (!st?.isFile() || (st.mode & 0o111) === 0) return undefined;
      const why = untrusted(path);
      return why ? { path, problem: `refused: ${why}` } : { path };
    })
    .filter((h): h is HookFile => h !== undefined);
}

/**
 * Why the program a job runs may not be run (undefined: fine): the first word of a shell line
 * or an argument list's first entry, found through PATH like the shell would, must be trusted.
 * A shell builtin or a word the shell expands ($VAR, a quoted path) is the shell's business.
 */
export function programProblem(program: string, o: { cwd?: string; path?: string } = {}): string | undefined {
  if (!/^[\w./+-]+$/.test(program)) return undefined;
  const found = findProgram(program, o);
  if (!found) return undefined; // the exec fails visibly, and counts as a crash
  return untrusted(found);
}

/** The executable file `program` names, found like execvp would (through `path`, relative to `cwd`). */
export function findProgram(program: string, o: { cwd?: string; path?: string } = {}): string | undefined {
  const search = o.path ?? process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
  const isExe = (p: string) => {
    const st = statSync(p, { throwIfNoEntry: false });
    return !!st?.isFile() && (st.mode & 0o111) !== 0;
  };
  if (program.includes('/')) {
    const p = resolve(o.cwd ?? '/', program);
    return isExe(p) ? p : undefined;
  }
  return search
    .split(':')
    .filter(Boolean)
    .map((d) => resolve(o.cwd ?? '/', d, program))
    .find(isExe);
}
