/** The control method table: name → params schema + handler. */
import { z } from 'zod';
import { method, type MethodTable } from './rpc.js';
import type { DaemonEvent } from '../daemon/events.js';
import type { Status } from './status.js';

export interface ControlApi {
  status(): Status;
  reload(): Promise<{ changed: boolean; message: string }>;
  quit(): void;
  subscribe(fn: (e: DaemonEvent) => void): () => void;
  history(): DaemonEvent[];
}

const none = z.object({}).strict();

export function controlMethods(api: ControlApi): MethodTable {
  return {
    ping: method({ params: none, handler: () => ({ pong: true }) }),
    status: method({ params: none, handler: () => api.status() }),
    reload: method({ params: none, handler: () => api.reload() }),
    quit: method({ params: none, handler: () => (api.quit(), { stopping: true }) }),
    monitor: method({
      params: z.object({ history: z.boolean().default(false) }).strict(),
      stream: true,
      handler: (p: { history: boolean }, ctx) => {
        if (p.history) for (const e of api.history()) ctx.push(e);
        ctx.onClose(api.subscribe((e) => ctx.push(e)));
        return { subscribed: true };
      },
    }),
  };
}
