/** Main-thread side of the probe worker: starts it, hands it datagram probes, collects results. */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { DgramProbe, FromWorker, ToWorker, WorkerInit } from './protocol.js';
import type { IcmpMode, ProbeResult } from './types.js';

/** Extra wait past a probe's own timeout before we stop trusting the worker to answer. */
const GRACE_MS = 2000;

interface Waiter {
  resolve: (r: ProbeResult) => void;
  timer: NodeJS.Timeout;
}

export class ProbeWorker {
  mode: IcmpMode = 'unknown';
  private worker?: Worker;
  private starting?: Promise<void>;
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  private lastDetail = '';

  constructor(
    private readonly log: Logger,
    private readonly init: WorkerInit,
  ) {}

  /** Starts the worker (once); resolves when it has decided how to send ICMP. */
  start(): Promise<void> {
    this.starting ??= this.spawn().catch((e) => {
      this.starting = undefined;
      throw e;
    });
    return this.starting;
  }

  private spawn(): Promise<void> {
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: this.init });
    this.worker = w;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      w.on('message', (m: FromWorker) => {
        if (m.t === 'mode') {
          this.onMode(m.mode, m.detail);
          if (!ready) {
            ready = true;
            resolve();
            this.updateRef();
          }
        } else if (m.t === 'result') {
          const wt = this.waiters.get(m.id);
          if (!wt) return;
          this.settle(m.id, {
            ok: m.ok,
            ...(m.rttMs !== undefined ? { rttMs: m.rttMs } : {}),
            ...(m.error ? { error: m.error } : {}),
          });
        } else if (m.t === 'fatal') {
          this.log.error({ error: m.error }, 'probe worker error');
        }
      });
      w.on('error', (e) => {
        this.log.error({ err: e }, 'probe worker failed');
        if (!ready) reject(e);
      });
      w.on('exit', (code) => {
        if (!ready) reject(new Error(`probe worker exited with ${code} before it was ready`));
        if (this.worker !== w) return; // stopped on purpose
        this.worker = undefined;
        this.starting = undefined; // the next probe starts a new one
        for (const id of [...this.waiters.keys()]) this.settle(id, { ok: false, error: 'probe worker exited' });
      });
    });
  }

  private onMode(mode: IcmpMode, detail: string): void {
    this.mode = mode;
    if (detail === this.lastDetail) return;
    this.lastDetail = detail;
    const line =
      mode === 'dgram'
        ? 'icmp probes use datagram sockets'
        : mode === 'raw'
          ? 'icmp probes use raw sockets'
          : 'icmp probes impossible';
    if (mode === 'unknown') this.log.error({ icmpMode: mode, detail }, line);
    else this.log.info({ icmpMode: mode, detail }, line);
  }

  /** Runs one probe in the worker; never rejects. */
  async run(req: Omit<DgramProbe, 't' | 'id'>): Promise<ProbeResult> {
    try {
      await this.start();
    } catch (e) {
      return { ok: false, error: `probe worker: ${(e as Error).message}` };
    }
    const w = this.worker;
    if (!w) return { ok: false, error: 'probe worker exited' };
    const id = this.nextId++;
    return new Promise<ProbeResult>((resolve) => {
      const timer = setTimeout(
        () => this.settle(id, { ok: false, error: 'timeout (probe worker did not answer)' }),
        req.timeoutMs + GRACE_MS,
      );
      this.waiters.set(id, { resolve, timer });
      this.updateRef();
      const msg: ToWorker = { t: 'probe', id, ...req };
      w.postMessage(msg);
    });
  }

  private settle(id: number, r: ProbeResult): void {
    const wt = this.waiters.get(id);
    if (!wt) return;
    this.waiters.delete(id);
    clearTimeout(wt.timer);
    this.updateRef();
    wt.resolve(r);
  }

  /** An idle worker must not keep the process alive; one with probes in flight must. */
  private updateRef(): void {
    if (!this.worker) return;
    if (this.waiters.size > 0) this.worker.ref();
    else this.worker.unref();
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.starting = undefined;
    for (const id of [...this.waiters.keys()]) this.settle(id, { ok: false, error: 'prober stopped' });
    if (!w) return;
    const exited = new Promise<void>((r) => w.once('exit', () => r()));
    w.ref(); // until it has exited, so stop() is awaited properly
    w.postMessage({ t: 'stop' } satisfies ToWorker);
    const timer = setTimeout(() => void w.terminate(), 1000);
    await exited;
    clearTimeout(timer);
  }
}
