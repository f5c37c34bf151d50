/** Main-thread side of the probe service (in the I/O thread): attaches it, hands it datagram probes, collects results. */
import { ioThread, type IoHandle } from '../io/thread.js';
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
  private io?: IoHandle;
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
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      let h: IoHandle | undefined;
      h = ioThread.attach('probe', this.init, this.log, (code) => {
        if (!ready) reject(new Error(`the I/O thread exited with ${code} before the prober was ready`));
        if (!h || this.io !== h) return; // stopped on purpose
        this.io = undefined;
        this.starting = undefined; // the next probe attaches again
        for (const id of [...this.waiters.keys()]) this.settle(id, { ok: false, error: 'probe service ended' });
      });
      this.io = h;
      h.port.on('message', (m: FromWorker) => {
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
          this.log.error({ error: m.error }, 'probe service error');
        }
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
    const io = this.io;
    if (!io) return { ok: false, error: 'probe service ended' };
    const id = this.nextId++;
    return new Promise<ProbeResult>((resolve) => {
      const timer = setTimeout(
        () => this.settle(id, { ok: false, error: 'timeout (probe worker did not answer)' }),
        req.timeoutMs + GRACE_MS,
      );
      this.waiters.set(id, { resolve, timer });
      this.updateRef();
      io.post({ t: 'probe', id, ...req } satisfies ToWorker);
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

  /** An idle prober must not keep the process alive; one with probes in flight must. */
  private updateRef(): void {
    if (!this.io) return;
    if (this.waiters.size > 0) this.io.port.ref();
    else this.io.port.unref();
  }

  async stop(): Promise<void> {
    const io = this.io;
    this.io = undefined;
    this.starting = undefined;
    for (const id of [...this.waiters.keys()]) this.settle(id, { ok: false, error: 'prober stopped' });
    if (!io) return;
    const closed = new Promise<void>((r) => io.port.once('close', () => r()));
    io.port.ref(); // until the service has closed, so stop() is awaited properly
    io.post({ t: 'stop' } satisfies ToWorker);
    const timer = setTimeout(() => io.port.close(), 1000);
    await closed;
    clearTimeout(timer);
    io.detach();
  }
}
