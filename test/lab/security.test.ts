/**
 * The boundaries docs/security.md describes, checked on a running daemon: the control socket
 * (0660, root's; another user is refused), the state dir (0700, an existing looser one of ours
 * tightened and logged) and state file (0600), the warning for a config others can write, and
 * nftables isolation (foreign tables byte for byte the same through start, reload and
 * `quit --teardown`, which removes only ours).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { labForTest, waitFor } from '../../src/lab/harness.js';
import { labConfig, startDaemon, UPLINK } from '../../src/lab/daemon.js';
import { twoUplinkTopology } from '../../src/lab/topology.js';
import { twoUplinkConfig } from './uplinks-lab.js';

const FOREIGN = `table inet admin {
  chain input { type filter hook input priority 10; policy accept; tcp dport 2222 counter accept; }
}
table ip nat {
  chain post { type nat hook postrouting priority 110; oifname "wan9" masquerade; }
}
`;

test('security: socket, state dir and file modes; another user refused; config mode warned; foreign tables untouched', async (t) => {
  const lab = await labForTest(t);
  const topo = await twoUplinkTopology(lab, { lanReturnVia: 'both' });
  await topo.gw.nft(FOREIGN);
  const foreign = async () =>
    [
      (await topo.gw.exec(['nft', 'list', 'table', 'inet', 'admin'])).stdout,
      (await topo.gw.exec(['nft', 'list', 'table', 'ip', 'nat'])).stdout,
    ].join('');
  const before = await foreign();

  const configFile = lab.tempFile('uplinkd.yaml', '');
  const ourState = join(dirname(configFile), 'state');
  writeFileSync(
    configFile,
    labConfig(dirname(configFile), twoUplinkConfig({ extra: 'lan:\n  - { interface: lan0, zone: lan }\n' })),
  );
  // A state dir left readable by others (an older uplinkd made it 0755).
  mkdirSync(ourState);
  chmodSync(ourState, 0o755);
  const d = await startDaemon(lab, topo.gw, '', { configFile });
  assert.ok(
    d.proc.lines().some((l) => /was readable by others \(0755\); made it 0700/.test(l)),
    'tightening logged',
  );
  const sock = statSync(d.socket);
  assert.equal(sock.mode & 0o777, 0o660, 'socket 0660');
  assert.equal(sock.uid, 0, "socket is root's");
  assert.equal(statSync(ourState).mode & 0o777, 0o700, 'state dir 0700');
  await waitFor(async () => (await d.cli(['force', 'wan2'])).code === 0, { what: 'force wan2' });
  assert.equal(statSync(join(ourState, 'state.json')).mode & 0o777, 0o600, 'state file 0600');

  // Another user cannot reach the socket.
  const nobody = await topo.gw.exec(
    [
      'setpriv',
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      UPLINK,
      '--socket',
      d.socket,
      'status',
    ],
    { check: false },
  );
  assert.equal(nobody.code, 1, nobody.stdout);
  assert.match(nobody.stderr, /permission denied/i);

  // A config every user may write is warned about on reload.
  chmodSync(d.configFile, 0o666);
  assert.equal((await d.cli(['reload'])).code, 0);
  await waitFor(() => d.proc.lines().some((l) => /"level":40/.test(l) && /writable by every user/.test(l)), {
    what: 'the config mode warning',
  });
  chmodSync(d.configFile, 0o600);
  assert.equal(await foreign(), before, 'foreign tables unchanged through start and reload');
  assert.equal((await d.cli(['quit', '--teardown'])).code, 0);
  await d.proc.exited;
  assert.equal(await foreign(), before, 'foreign tables unchanged through teardown');
  const ours = await topo.gw.exec(['nft', 'list', 'table', 'inet', 'uplinkd'], { check: false });
  assert.notEqual(ours.code, 0, 'our table is gone');
});
