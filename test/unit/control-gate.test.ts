/** While the daemon starts (its socket answers first) or stops, only the reading methods are served. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gated } from '../../src/control/methods.js';
import { method, type MethodTable, type RpcContext } from '../../src/control/rpc.js';
import { isUplinkError } from '../../src/errors.js';

const ctx: RpcContext = { push: () => undefined, onClose: () => undefined };
const table: MethodTable = Object.fromEntries(
  ['ping', 'status', 'monitor', 'reload', 'down', 'quit', 'apply'].map((n) => [
    n,
    method({ params: undefined as never, handler: () => n }),
  ]),
);

test('gated: each phase serves what it may and refuses the rest with a code', async () => {
  type Phase = 'starting' | 'stopping' | undefined;
  let phase: Phase = 'starting' as Phase;
  const g = gated(table, () => phase);
  const call = async (name: string) => {
    try {
      return await g[name]!.handler({}, ctx);
    } catch (e) {
      return isUplinkError(e) ? e.code : e;
    }
  };
  const cases: [Phase, string, unknown][] = [
    ['starting', 'ping', 'ping'],
    ['starting', 'status', 'status'],
    ['starting', 'monitor', 'monitor'],
    ['starting', 'reload', 'DAEMON_STARTING'],
    ['starting', 'down', 'DAEMON_STARTING'],
    ['starting', 'quit', 'DAEMON_STARTING'],
    [undefined, 'reload', 'reload'],
    [undefined, 'apply', 'apply'],
    ['stopping', 'status', 'status'],
    ['stopping', 'down', 'DAEMON_STOPPING'],
  ];
  for (const [p, name, want] of cases) {
    phase = p;
    assert.equal(await call(name), want, `${p ?? 'running'}: ${name}`);
  }
});
