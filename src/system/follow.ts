/**
 * Follows a log file that processes append to (a job's output): new complete lines go to
 * `onLines`; past `maxBytes` the file is cut back to empty (the writers opened it O_APPEND and
 * go on at the new end), so output never fills the disk. Polled: a few stats a second are
 * cheaper than a watcher per file, and a file that is replaced or cut is noticed alike.
 */
import { closeSync, ftruncateSync, openSync, readSync, fstatSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export interface FileFollow {
  close(): void;
  /** Stops polling after one last read (nothing writes now); resume() goes on from there. */
  pause(): void;
  resume(): void;
}

export interface FollowOptions {
  maxBytes: number;
  pollMs?: number;
  /** Start paused: the owner resumes while something writes (hooks run seconds a day). */
  paused?: boolean;
}

const CHUNK = 64 * 1024;

export function followFile(path: string, onLines: (lines: string[]) => void, o: FollowOptions): FileFollow {
  let fd: number | undefined;
  let offset = 0;
  let partial = '';
  let opened = false;
  // A character split at a chunk's edge is completed by the next read.
  let decoder = new StringDecoder('utf8');
  const buf = Buffer.alloc(CHUNK);
  const poll = () => {
    try {
      // Replaced (deleted and made anew): follow the new file from its start.
      if (fd !== undefined && statSync(path, { throwIfNoEntry: false })?.ino !== fstatSync(fd).ino) {
        closeSync(fd);
        fd = undefined;
        offset = 0;
        decoder = new StringDecoder('utf8');
      }
      const first = fd === undefined && !opened;
      fd ??= openSync(path, 'a+');
      opened = true;
      const size = fstatSync(fd).size;
      // What was there before the daemon (re)started is old news: follow from the end.
      if (first) offset = size;
      if (size < offset) offset = 0; // cut by someone else
      let text = '';
      while (offset < size) {
        const n = readSync(fd, buf, 0, Math.min(CHUNK, size - offset), offset);
        if (n <= 0) break;
        offset += n;
        text += decoder.write(buf.subarray(0, n));
      }
      if (text) {
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        if (partial.length > CHUNK) {
          lines.push(partial);
          partial = '';
        }
        if (lines.length) onLines(lines);
      }
      if (size > o.maxBytes) {
        ftruncateSync(fd, 0);
        offset = 0;
      }
    } catch {
      // Not there yet, or gone: the next poll tries again.
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const resume = () => {
    timer ??= setInterval(poll, o.pollMs ?? 250).unref();
    poll();
  };
  const pause = () => {
    clearInterval(timer);
    timer = undefined;
    poll();
  };
  if (!o.paused) resume();
  else poll(); // opens it, so that the first resume reads from here on
  return {
    pause,
    resume,
    close() {
      pause();
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
