import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { z } from 'zod';
import { ControlClient, rpc } from '../../src/control/client.js';
import { method } from '../../src/control/rpc.js';
import { ControlServer } from '../../src/control/server.js';
import { listenUnix } from '../../src/system/control-socket.js';

const unixListener = {
  listen: (p: string, fn: Parameters<typeof listenUnix>[1]) => listenUnix(p, fn, pino({ level: 'silent' })),
};

/** Sends raw bytes and collects reply lines until `want` lines arrived or the server closed. */
function raw(path: string, data: string, want: number): Promise<string[]> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    let buf = '';
    const done = () => resolve(buf.split('\n').filter(Boolean));
    s.on('data', (c) => {
      buf += c;
      if (buf.split('\n').filter(Boolean).length >= want) s.destroy(), done();
    });
    s.on('close', done);
    s.on('connect', () => s.write(data));
  });
}

test('control socket: 0660, garbage gets coded errors, the server keeps serving, streams end on close', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'uplinkd-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'sub', 'uplinkd.sock');
  let unsubscribed = 0;
  const server = new ControlServer(unixListener, path, {
    ping: method({ params: z.object({}).strict(), handler: () => ({ pong: true }) }),
    ticks: method({
      params: z.object({}).strict(),
      stream: true,
      handler: (_p, ctx) => {
        ctx.push({ n: 1 });
        ctx.onClose(() => unsubscribed++);
        return { subscribed: true };
      },
    }),
  });
  await server.start();
  t.after(() => server.stop());
  assert.equal(statSync(path).mode & 0o777, 0o660);

  const replies = await raw(
    path,
    'garbage\n{"id":1}\n{"id":2,"method":"nope"}\n{"id":3,"method":"ping","params":{"x":1}}\n',
    4,
  );
  assert.deepEqual(
    replies.map((l) => JSON.parse(l).error.code),
    ['RPC_BAD_JSON', 'RPC_BAD_REQUEST', 'RPC_UNKNOWN_METHOD', 'RPC_BAD_PARAMS'],
  );
  const long = await raw(path, 'x'.repeat(2 << 20), 1);
  assert.match(long[0], /too long/);
  assert.deepEqual(await rpc(path, 'ping'), { pong: true });

  const c = new ControlClient(path);
  await c.connect();
  const events: unknown[] = [];
  c.onEvent((e) => events.push(e));
  assert.deepEqual(await c.call('ticks'), { subscribed: true });
  assert.deepEqual(events, [{ n: 1 }]);
  c.close();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(unsubscribed, 1, 'a gone client is unsubscribed');

  await server.stop();
  await assert.rejects(
    rpc(path, 'ping'),
    (e: Error & { code?: string }) => e.code === 'DAEMON_NOT_RUNNING' && /uplinkd is not running/.test(e.message),
  );
});
