/**
 * The main thread's side of the I/O thread (./worker.ts): one worker for the whole process,
 * started when the first service is attached and ended when the last is detached. Each
 * service speaks on a MessagePort of its own; after each message its client rings the
 * doorbell, since the thread sleeps in poll(2). A crash of the thread (one service threw)
 * ends every service: each client hears it through `onExit` and attaches again.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import { openDoorbell, ring } from '../doorbell.js';
import { close as closeFd } from '../libc.js';
import type { FromIoThread, IoKind, ToIoThread } from './service.js';

export interface IoHandle {
  port: MessagePort;
  /** Posts to the service and wakes the thread. */
  post(m: unknown): void;
  /** Closes this service's port; the last one ends the thread. */
  detach(): void;
}

interface Running {
  worker: Worker;
  bell: number;
  clients: Set<(code: number) => void>;
}

export class IoThread {
  private running?: Running;

  /** Runs a service of `kind` in the thread; `onExit` hears the thread end under it. */
  attach(kind: IoKind, init: unknown, log: Logger, onExit: (code: number) => void): IoHandle {
    const r = (this.running ??= this.spawn(log));
    const { port1, port2 } = new MessageChannel();
    r.clients.add(onExit);
    r.worker.postMessage({ t: 'attach', kind, init, port: port2 } satisfies ToIoThread, [port2]);
    ring(r.bell);
    let attached = true;
    return {
      port: port1,
      post: (m) => {
        port1.postMessage(m);
        ring(r.bell);
      },
      detach: () => {
        if (!attached) return;
        attached = false;
        port1.close();
        r.clients.delete(onExit);
        if (!r.clients.size && this.running === r) this.end(r);
      },
    };
  }

  private spawn(log: Logger): Running {
    const bell = openDoorbell();
    const worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: { bell },
      // Its garbage is short-lived (parsed netlink batches, probe packets): a young generation
      // capped at 4 MB keeps a busy thread from growing ~15 MB of RSS it gives back slowly.
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    // The services' ports keep the process alive while they are in use; the thread itself does not.
    worker.unref();
    const r: Running = { worker, bell, clients: new Set() };
    worker.on('message', (m: FromIoThread) => {
      if (m.t === 'fatal') log.fatal({ service: m.kind, error: m.error }, 'I/O thread crashed');
    });
    worker.on('error', (e) => log.error({ err: e }, 'I/O thread failed'));
    worker.once('exit', (code) => {
      closeFd(bell);
      if (this.running === r) this.running = undefined;
      for (const fn of [...r.clients]) fn(code);
      r.clients.clear();
    });
    return r;
  }

  private end(r: Running): void {
    this.running = undefined;
    // Its services have all been told to stop (their ports are closed): let it go.
    setTimeout(() => void r.worker.terminate(), 1000).unref();
    r.worker.postMessage({ t: 'end' } satisfies ToIoThread);
    ring(r.bell);
  }
}

/** The process's one I/O thread. */
export const ioThread = new IoThread();
