/** The control socket's file: a unix socket (mode 0660) whose stale file is removed first. */
import { chmod, mkdir, unlink } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Listener } from './system.js';

export async function listenUnix(path: string, onClient: (s: Socket) => void, log: Logger): Promise<Listener> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  // The single-instance lock is held by now, so a socket file left here is stale.
  await unlink(path).catch(() => undefined);
  const server = createServer(onClient);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  server.on('error', (e) => log.error({ err: e }, 'control socket error'));
  await chmod(path, 0o660);
  return {
    async close() {
      // close() completes only once every client is gone: not awaited (a waiting `uplink quit`
      // would deadlock the shutdown); the controller drops the clients last.
      server.close();
      await unlink(path).catch(() => undefined);
    },
  };
}
