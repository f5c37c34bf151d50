/**
 * Big pure work off the main thread: parsing a config (a reload or `uplink plan` of tens of
 * thousands of forwards takes seconds) and rendering a big ruleset. The main thread keeps
 * probing, judging and failing over meanwhile. One worker, started on first use and unref'd
 * (it never keeps the daemon alive); errors come back as coded errors.
 */
import { Worker } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../config/errors.js';
import { UplinkError } from '../errors.js';
import type { FirewallInput } from '../firewall/render.js';
import type { Task, TaskReply } from './tasks.js';

export class Offload {
  private worker?: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, (r: TaskReply) => void>();

  /** Reads and validates a config file (reload). */
  loadConfig(path: string): Promise<Config> {
    return this.call({ kind: 'loadConfig', path }) as Promise<Config>;
  }

  /** Validates config text (`uplink plan`). */
  parseConfig(text: string, file: string): Promise<Config> {
    return this.call({ kind: 'parseConfig', text, file }) as Promise<Config>;
  }

  /** The nft batch for `input`, as JSON text. */
  renderRuleset(input: FirewallInput): Promise<string> {
    return this.call({ kind: 'renderRuleset', input }) as Promise<string>;
  }

  /** What a new config would change in the ruleset (`uplink plan`). */
  diffRulesets(current: Config | undefined, next: Config): Promise<{ added: string[]; removed: string[] }> {
    return this.call({ kind: 'diffRulesets', current, next }) as Promise<{ added: string[]; removed: string[] }>;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }

  private call(task: Task): Promise<unknown> {
    const w = this.ensure();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (r) => (r.ok ? resolve(r.value) : reject(revive(r.error))));
      w.postMessage({ id, task });
      w.ref();
    });
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./worker.js', import.meta.url));
    w.unref();
    w.on('message', (m: { id: number; reply: TaskReply }) => {
      this.waiting.get(m.id)?.(m.reply);
      this.waiting.delete(m.id);
      if (!this.waiting.size) w.unref();
    });
    const fail = (message: string) => {
      for (const fn of this.waiting.values()) fn({ ok: false, error: { code: 'SYSTEM', message } });
      this.waiting.clear();
      if (this.worker === w) this.worker = undefined;
    };
    w.on('error', (e) => fail(`offload worker failed: ${e.message}`));
    w.on('exit', () => fail('offload worker exited'));
    this.worker = w;
    return w;
  }
}

function revive(e: Extract<TaskReply, { ok: false }>['error']): Error {
  if (e.problems) return new ConfigError(e.problems);
  return new UplinkError(e.code, e.message, e.hint);
}
