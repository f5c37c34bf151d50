/**
 * Packaging: packaging/uplinkd.service passes `systemd-analyze verify`, and scripts/install.sh,
 * run into a throwaway root (DESTDIR), installs a working copy, installs again to the very same
 * tree, never writes over a config or any other file it did not install, and `--uninstall`
 * leaves the root exactly as it found it (paths, modes, contents).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * What install.sh installs from: a still copy of the checkout's build (its node_modules
 * linked, not copied), so that a build running in the same tree meanwhile cannot make the
 * second install differ from the first.
 */
const SOURCE = mkdtempSync(join(tmpdir(), 'uplinkd-src-'));
after(() => rmSync(SOURCE, { recursive: true, force: true }));
for (const p of [
  'scripts/install.sh',
  'packaging/uplinkd.service',
  'man/uplink.1',
  'man/uplinkd.8',
  'package.json',
  'package-lock.json',
  'dist/src',
  'web',
])
  if (existsSync(join(ROOT, p))) cpSync(join(ROOT, p), join(SOURCE, p), { recursive: true });
symlinkSync(join(ROOT, 'node_modules'), join(SOURCE, 'node_modules'));

const SCRIPT = join(SOURCE, 'scripts/install.sh');
const UNIT = join(ROOT, 'packaging/uplinkd.service');
const LIB = 'usr/local/lib/uplinkd';
const VERSION = (JSON.parse(readFileSync(join(SOURCE, 'package.json'), 'utf8')) as { version: string }).version;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(file, args, { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

const install = (root: string, ...args: string[]) => run('bash', [SCRIPT, ...args], { DESTDIR: root });

/** Every path below `root` → its type, mode and sha256 (or a symlink's target). */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    const abs = join(root, rel);
    const st = lstatSync(abs);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out.set(rel, `link ${mode} → ${readlinkSync(abs)}`);
    else if (st.isDirectory()) {
      out.set(rel, `dir ${mode}`);
      for (const name of readdirSync(abs)) walk(rel ? `${rel}/${name}` : name);
    } else out.set(rel, `file ${mode} ${createHash('sha256').update(readFileSync(abs)).digest('hex')}`);
  };
  walk('');
  return out;
}

/** What differs between two snapshots, as short lines (the first few of each kind). */
function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  const added = [...after.keys()].filter((p) => !before.has(p));
  const removed = [...before.keys()].filter((p) => !after.has(p));
  const changed = [...before.keys()].filter((p) => after.has(p) && after.get(p) !== before.get(p));
  const show = (what: string, paths: string[]) =>
    paths.length ? [`${paths.length} ${what}: ${paths.slice(0, 8).join(', ')}${paths.length > 8 ? ', …' : ''}`] : [];
  return [...show('added', added), ...show('removed', removed), ...show('changed', changed)];
}

function tree(t: { after: (fn: () => void) => void }, files: Record<string, [string, number]>, dirs: string[] = []) {
  const root = mkdtempSync(join(tmpdir(), 'uplinkd-install-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const d of dirs) mkdirSync(join(root, d), { recursive: true });
  for (const [path, [text, mode]] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
    chmodSync(join(root, path), mode);
  }
  return root;
}

/** The admin's files that were there before: none of them may change. */
const THEIRS: Record<string, [string, number]> = {
  'etc/uplinkd/other.conf': ['# not uplinkd.yaml: keep me\n', 0o600],
  'etc/hostname': ['gw1\n', 0o644],
  'usr/local/bin/other-tool': ['#!/bin/sh\necho other\n', 0o755],
  'usr/local/share/man/man1/other-tool.1': ['.TH OTHER 1\n', 0o644],
};
/** An empty directory that was there: uninstall must not take it for one of its own. */
const EMPTY_DIRS = ['usr/local/lib'];

async function assertInstalled(root: string) {
  for (const [name, main] of [
    ['uplink', 'cli'],
    ['uplinkd', 'daemon'],
  ] as const) {
    const wrapper = join(root, 'usr/local/bin', name);
    assert.equal(lstatSync(wrapper).mode & 0o777, 0o755, `${name} is executable`);
    assert.match(
      readFileSync(wrapper, 'utf8'),
      new RegExp(`^exec "[^"]*node" "/usr/local/lib/uplinkd/dist/src/${main}/main\\.js" "\\$@"$`, 'm'),
      `${name} execs node on the installed copy`,
    );
  }
  const cli = join(root, LIB, 'dist/src/cli/main.js');
  const version = await run(process.execPath, [cli, '--version']);
  assert.equal(version.stdout.trim(), `uplink ${VERSION}`, version.stderr);
  const daemon = await run(process.execPath, [join(root, LIB, 'dist/src/daemon/main.js'), '--version']);
  assert.equal(daemon.stdout.trim(), VERSION, daemon.stderr);
  for (const p of ['etc/systemd/system/uplinkd.service', 'usr/local/share/man/man1/uplink.1']) {
    assert.equal(lstatSync(join(root, p)).mode & 0o777, 0o644, p);
  }
  assert.equal(
    readFileSync(join(root, 'etc/systemd/system/uplinkd.service'), 'utf8'),
    readFileSync(join(SOURCE, 'packaging/uplinkd.service'), 'utf8'),
    'the unit as it is in packaging/',
  );
  assert.ok(existsSync(join(root, 'usr/local/share/man/man8/uplinkd.8')));
  // The dashboard's files, read from beside dist/ (src/control/http/static.ts), where the build has them.
  if (existsSync(join(SOURCE, 'web/index.html')))
    assert.equal(
      readFileSync(join(root, LIB, 'web/index.html'), 'utf8'),
      readFileSync(join(SOURCE, 'web/index.html'), 'utf8'),
    );
  // Production dependencies only: pruned, and without the tests or the benches.
  assert.ok(existsSync(join(root, LIB, 'node_modules/yaml/package.json')), 'a dependency is there');
  for (const dev of ['node_modules/typescript', 'node_modules/@biomejs', 'node_modules/fast-check', 'dist/test'])
    assert.ok(!existsSync(join(root, LIB, dev)), `${dev} is not installed`);
  return cli;
}

test('the unit passes systemd-analyze verify and keeps the settings the daemon relies on', async (t) => {
  const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
  const text = readFileSync(UNIT, 'utf8');
  const lines = new Set(text.split('\n'));
  for (const want of [
    'Type=notify',
    'NotifyAccess=main',
    'ExecStart=/usr/local/bin/uplinkd --config /etc/uplinkd/uplinkd.yaml',
    'ExecReload=/usr/local/bin/uplink reload',
    'WatchdogSec=30s',
    'Restart=on-failure',
    'KillMode=process',
    'Delegate=yes',
    'StateDirectory=uplinkd',
    'StateDirectoryMode=0700',
    'RuntimeDirectory=uplinkd',
    'RuntimeDirectoryPreserve=yes',
    'ConfigurationDirectory=uplinkd',
    'ProtectSystem=strict',
    'ReadWritePaths=/etc/uplinkd',
    'ProtectHome=read-only',
    'PrivateTmp=yes',
    'LimitNOFILE=65536',
    'After=network-pre.target',
    'Wants=network-pre.target',
    'WantedBy=multi-user.target',
  ])
    assert.ok(lines.has(want), `the unit has ${want}`);
  // Settings that would break features: setuid pppd, sysctls, job cgroups, /dev/ppp, node's JIT.
  for (const key of [
    'NoNewPrivileges',
    'ProtectKernelTunables',
    'ProtectControlGroups',
    'PrivateDevices',
    'MemoryDenyWriteExecute',
    'User',
  ])
    assert.ok(![...lines].some((l) => l.startsWith(`${key}=`)), `the unit does not set ${key}=`);
  if (!analyze) return t.skip('systemd-analyze is not installed');

  // verify insists that the Exec binaries exist: point them at the build, run by this node.
  const dir = mkdtempSync(join(tmpdir(), 'uplinkd-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const built = (main: string) => `${process.execPath} ${join(ROOT, `dist/src/${main}/main.js`)}`;
  const rewritten = text
    .replace(/^ExecStart=\/usr\/local\/bin\/uplinkd /m, `ExecStart=${built('daemon')} `)
    .replace(/^ExecReload=\/usr\/local\/bin\/uplink /m, `ExecReload=${built('cli')} `);
  assert.equal(
    rewritten.split('\n').filter((l, i) => l !== text.split('\n')[i]).length,
    2,
    'only ExecStart= and ExecReload= are rewritten',
  );
  const file = join(dir, 'uplinkd.service');
  writeFileSync(file, rewritten);
  // --recursive-errors=no: the unit's own problems fail it (an unknown key or a value that does
  // not parse; without the flag systemd 252 only warns and exits 0), the host's other units' not.
  const r = await run(analyze, ['verify', '--man=no', '--recursive-errors=no', file]);
  const ours = r.stderr.split('\n').filter((l) => l.includes('uplinkd.service'));
  assert.deepEqual(ours, [], 'no warnings about the unit');
  assert.equal(r.code, 0, r.stderr);
});

// Each case copies a few thousand files, which is what takes the time: side by side, in their own roots.
describe('install.sh in a throwaway root', { concurrency: true }, () => {
  test('install into an empty-ish root, again (the same tree), then uninstall back to it', async (t) => {
    const root = tree(t, THEIRS, EMPTY_DIRS);
    const before = snapshot(root);

    const first = await install(root);
    assert.equal(first.code, 0, first.stderr);
    const cli = await assertInstalled(root);
    const config = join(root, 'etc/uplinkd/uplinkd.yaml');
    const check = await run(process.execPath, [cli, 'check', config]);
    assert.equal(check.code, 0, `the example config validates: ${check.stdout}${check.stderr}`);
    assert.match(readFileSync(config, 'utf8'), /^defaults:\n {2}manage: false\nuplinks: \{\}\n$/m);
    assert.ok(!existsSync(`${config}.example`), 'no .example beside a config it installed');
    const installed = snapshot(root);

    const second = await install(root);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /the same build, left as it is/);
    assert.deepEqual(changes(installed, snapshot(root)), [], 'installing again changes nothing');

    const gone = await install(root, '--uninstall');
    assert.equal(gone.code, 0, gone.stderr);
    assert.deepEqual(changes(before, snapshot(root)), [], 'uninstall leaves the root as it was');
  });

  test('an existing uplinkd.yaml is never written over; the example goes beside it', async (t) => {
    const mine = '# my gateway\nuplinks:\n  wan: { interface: eth0 }\n';
    const root = tree(t, { ...THEIRS, 'etc/uplinkd/uplinkd.yaml': [mine, 0o600] });
    const before = snapshot(root);
    const config = join(root, 'etc/uplinkd/uplinkd.yaml');

    const first = await install(root);
    assert.equal(first.code, 0, first.stderr);
    const cli = await assertInstalled(root);
    assert.equal(readFileSync(config, 'utf8'), mine);
    assert.equal(lstatSync(config).mode & 0o777, 0o600, 'its mode too');
    const check = await run(process.execPath, [cli, 'check', `${config}.example`]);
    assert.equal(check.code, 0, `the example validates: ${check.stdout}${check.stderr}`);
    const installed = snapshot(root);

    const second = await install(root);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(changes(installed, snapshot(root)), [], 'installing again changes nothing');

    const gone = await install(root, '--uninstall');
    assert.equal(gone.code, 0, gone.stderr);
    assert.deepEqual(changes(before, snapshot(root)), [], 'uninstall leaves the root as it was');
  });

  test('install makes a damaged copy whole again and keeps an edited config, as uninstall does', async (t) => {
    const root = tree(t, {}, []);
    const first = await install(root);
    assert.equal(first.code, 0, first.stderr);
    const installed = snapshot(root);
    // A file of the copy gone, another changed, and the admin's edit of the example config.
    rmSync(join(root, LIB, 'node_modules/zod/package.json'));
    writeFileSync(join(root, LIB, 'dist/src/version.js'), '// changed\n');
    const config = join(root, 'etc/uplinkd/uplinkd.yaml');
    const edited = `${readFileSync(config, 'utf8')}# edited\n`;
    writeFileSync(config, edited);

    const again = await install(root);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /left as it is/, 'the copy is built again');
    assert.deepEqual(
      changes(installed, snapshot(root)),
      ['1 changed: etc/uplinkd/uplinkd.yaml'],
      'only the edit stays',
    );
    assert.equal(readFileSync(config, 'utf8'), edited);

    const gone = await install(root, '--uninstall');
    assert.equal(gone.code, 0, gone.stderr);
    assert.match(gone.stdout, /kept \/etc\/uplinkd\/uplinkd\.yaml/);
    assert.deepEqual(
      [...snapshot(root).keys()].sort(),
      ['', 'etc', 'etc/uplinkd', 'etc/uplinkd/uplinkd.yaml'],
      'only the config and the directories that hold it are left',
    );
    assert.equal(readFileSync(config, 'utf8'), edited);
  });
});

test('a file in the way that the script did not install stops it before it changes anything', async (t) => {
  const root = tree(t, { ...THEIRS, 'usr/local/bin/uplink': ['#!/bin/sh\necho "npm -g uplink"\n', 0o755] });
  const before = snapshot(root);
  const r = await install(root);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /usr\/local\/bin\/uplink exists and was not installed by this script/);
  assert.deepEqual(changes(before, snapshot(root)), [], 'nothing changed');
  const u = await install(root, '--uninstall');
  assert.equal(u.code, 1, 'nothing to uninstall');
  assert.deepEqual(changes(before, snapshot(root)), []);
});

test('install.sh without a build says how to make one', async (t) => {
  // A copy of the script in a tree without dist/: it must stop at once and point to setup.sh.
  const dir = mkdtempSync(join(tmpdir(), 'uplinkd-nobuild-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'scripts'));
  mkdirSync(join(dir, 'stage'));
  writeFileSync(join(dir, 'scripts/install.sh'), readFileSync(SCRIPT));
  const r = await run('bash', [join(dir, 'scripts/install.sh')], { DESTDIR: join(dir, 'stage') });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bash scripts\/setup\.sh/);
  assert.deepEqual(readdirSync(join(dir, 'stage')), []);
});
