/**
 * Whether the running config still matches the file on disk: a confirmed apply runs text the
 * file will only hold after `uplink confirm`, and an admin may have edited the file without a
 * reload. Status says so, or an admin trusts a file the daemon is not running.
 *
 * The file is re-read when its directory reports a change (editors write a temp file and
 * rename it over, so the directory is watched, not the file) and every `pollMs` as well:
 * inotify misses a directory replaced under a bind mount or a config on NFS.
 */
import { basename, dirname } from 'node:path';
import type { Component } from '../model/component.js';
import type { DirWatch, System } from '../system/system.js';

export interface ConfigDriftDeps {
  system: System;
  path: string;
  /** The text the daemon runs now. */
  running(): string;
  /** A confirmed apply waits for `uplink confirm`. */
  pending(): boolean;
  pollMs?: number;
}

export class ConfigDrift implements Component {
  readonly name = 'config-drift';
  private disk: string | undefined;
  private watch?: DirWatch;
  private timer?: NodeJS.Timeout;
  private reading = false;
  private again = false;

  constructor(private readonly d: ConfigDriftDeps) {}

  async start(): Promise<void> {
    await this.reread();
    const name = basename(this.d.path);
    this.watch = this.d.system.watchDir(dirname(this.d.path), (f) => {
      if (f === name || f === '') void this.reread();
    });
    this.timer = setInterval(() => void this.reread(), this.d.pollMs ?? 10_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.watch?.close();
    clearInterval(this.timer);
  }

  /** The daemon itself just read (reload) or wrote (confirm) the file: this is on disk now. */
  loaded(text: string): void {
    this.disk = text;
  }

  /** Why the file on disk is not what runs; undefined when it is. */
  differs(): string | undefined {
    if (this.d.pending())
      return this.disk === this.d.running()
        ? 'a confirmed apply is pending: `uplink confirm` keeps it, `uplink rollback` returns to the previous config'
        : 'a confirmed apply is pending: the file on disk holds another config until `uplink confirm`';
    if (this.disk === undefined) return `${this.d.path} is gone: the daemon runs the config it last loaded`;
    if (this.disk !== this.d.running())
      return `${this.d.path} was edited and not reloaded: \`uplink reload\` applies it`;
    return undefined;
  }

  /** One read at a time; a change during a read reads once more after it. */
  private async reread(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    try {
      do {
        this.again = false;
        this.disk = await this.d.system.store.read(this.d.path);
      } while (this.again);
    } catch {
      // Unreadable now (mid-rename, permissions): keep the last reading; the poll tries again.
    } finally {
      this.reading = false;
    }
  }
}
