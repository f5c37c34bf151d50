/**
 * The I/O thread: runs the services the main thread attaches (netlink/service.ts,
 * probe/service.ts), each on its own MessagePort, and sleeps in one poll(2) on all their fds
 * and the doorbell the main thread rings after each message. After each wake it goes back to
 * the event loop once, which is where the ports' messages come in.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { waitOrBell } from '../doorbell.js';
import { netlinkService } from '../netlink/service.js';
import { probeService } from '../probe/service.js';
import type { FromIoThread, IoKind, IoService, ToIoThread } from './service.js';

const { bell } = workerData as { bell: number };
const services = new Map<IoService, IoKind>();
let scheduled = false;

const START: Record<IoKind, (port: MessagePort, init: never) => IoService> = {
  netlink: netlinkService,
  probe: probeService,
};

/** Ends the thread with every service's fds closed: they are the process's, not the thread's. */
function end(code: number): never {
  for (const s of services.keys()) {
    try {
      s.close();
    } catch {
      /* closing what is left is all that matters now */
    }
  }
  process.exit(code);
}

function fatal(e: unknown, kind?: IoKind): never {
  parentPort!.postMessage({ t: 'fatal', kind, error: String((e as Error)?.stack ?? e) } satisfies FromIoThread);
  // Every service's client starts again (the kernel watch with a full resync).
  end(1);
}

parentPort!.on('message', (m: ToIoThread) => {
  if (m.t === 'end') end(0);
  try {
    services.set(START[m.kind](m.port, m.init as never), m.kind);
  } catch (e) {
    fatal(e, m.kind);
  }
  schedule();
});

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(loop);
}

function loop(): void {
  scheduled = false;
  let busy = false;
  let kind: IoKind | undefined;
  try {
    for (const [s, k] of services) {
      kind = k;
      busy = s.work() || busy;
    }
    kind = undefined;
    for (const s of [...services.keys()]) if (s.ended) services.delete(s);
    if (!services.size) return; // idle in the event loop until the next attach
    if (!busy) {
      const waits = [...services.keys()].map((s) => s.timeoutMs()).filter((t) => t >= 0);
      waitOrBell(
        [...services.keys()].flatMap((s) => s.fds()),
        bell,
        waits.length ? Math.min(...waits) : -1,
      );
    }
  } catch (e) {
    fatal(e, kind);
  }
  schedule();
}
