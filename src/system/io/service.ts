/**
 * A service of the I/O thread (src/system/io/worker.ts): the netlink reader and the prober
 * share one worker thread, because each Node worker costs an idle daemon ~10 MB. The thread
 * waits in one poll(2) on every service's fds and the doorbell; a service never blocks.
 */
import type { MessagePort } from 'node:worker_threads';

export interface IoService {
  /** The fds whose readability wakes the thread for this service. */
  fds(): number[];
  /** Ms until this service must run though no fd is readable (a probe's deadline); -1: never. */
  timeoutMs(): number;
  /** Does what is due without blocking; true when more is queued right away (do not wait). */
  work(): boolean;
  /** Stopped: its fds and port are closed. */
  readonly ended: boolean;
  /** Closes its fds and port now (the thread is ending). */
  close(): void;
}

export type IoKind = 'netlink' | 'probe';

/** The main thread's request to run one more service, on a port of its own; or to end. */
export type ToIoThread = { t: 'attach'; kind: IoKind; init: unknown; port: MessagePort } | { t: 'end' };

/** What the thread itself tells the main thread (services speak on their own ports). */
export type FromIoThread = { t: 'fatal'; kind?: IoKind; error: string };
