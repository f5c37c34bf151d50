/**
 * The secrets file: refused when others may read it (with the chmod), names checked against
 * the config, and its values in no log line, event, status, plan or error — even when a server
 * echoes one back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { parseConfigText } from '../../src/config/load.js';
import { checkSecretRefs, parseSecrets } from '../../src/config/secrets.js';
import { Controller } from '../../src/daemon/controller.js';
import { isUplinkError } from '../../src/errors.js';
import { Redactor } from '../../src/model/redact.js';
import { readSecretsFile } from '../../src/system/secrets-file.js';
import { kernelWithTwoUplinks, until } from './fixtures.js';

const SECRET = 'Hunter2-"quoted"/&+';

test('the secrets file: group or other bits refused with the chmod; 600 read', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'uplinkd-secrets-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'secrets.yaml');
  writeFileSync(f, `smtp: ${JSON.stringify(SECRET)}\n`);
  for (const mode of [0o644, 0o640, 0o604, 0o660, 0o602]) {
    chmodSync(f, mode);
    await assert.rejects(readSecretsFile(f), (e: unknown) => {
      assert.ok(isUplinkError(e) && e.code === 'SECRETS_MODE', String(e));
      assert.equal(e.hint, `chmod 600 ${f}`);
      assert.ok(!e.message.includes(SECRET));
      return true;
    });
  }
  chmodSync(f, 0o600);
  assert.equal((await readSecretsFile(f)).get('smtp'), SECRET);
  await assert.rejects(
    readSecretsFile(join(dir, 'none.yaml')),
    (e: unknown) => isUplinkError(e) && e.code === 'SECRETS_READ',
  );
});

test('a broken secrets file is reported by line, never by its text', () => {
  for (const text of [`a: "${SECRET}\nb: [`, `- ${SECRET}\n`, `a: { b: ${SECRET} }\n`, 'a: abc\n']) {
    assert.throws(
      () => parseSecrets(text, '/s.yaml'),
      (e: unknown) =>
        isUplinkError(e) &&
        e.code === 'SECRETS_INVALID' &&
        !e.message.includes(SECRET) &&
        !e.message.includes('Hunter'),
      text,
    );
  }
});

test('names the config uses must be in the file', () => {
  const yaml = (secrets: string) =>
    parseConfigText(
      `${secrets}uplinks: { a: { interface: eth0 } }\nannounce:\n  - { uplink: a, dyndns: { url: "https://d.example.net/u?ip={address}", username: u, password_secret: dyn } }\n`,
      'c.yaml',
    );
  assert.throws(() => checkSecretRefs(yaml(''), undefined), /names secret "dyn" but the config has no secrets file/);
  assert.throws(
    () => checkSecretRefs(yaml('secrets: /s.yaml\n'), new Map()),
    /secret "dyn" \(announce\[0\]\.dyndns\.password_secret\) not in \/s.yaml/,
  );
  checkSecretRefs(yaml('secrets: /s.yaml\n'), new Map([['dyn', 'pass-word']]));
});

test('the redactor blanks every form a value travels in', () => {
  const r = new Redactor();
  r.set([SECRET, 'ab']);
  const b64 = Buffer.from(`user:${SECRET}`).toString('base64');
  for (const text of [
    SECRET,
    JSON.stringify({ m: SECRET }),
    encodeURIComponent(SECRET),
    Buffer.from(SECRET).toString('base64'),
  ])
    assert.ok(!r.apply(`x ${text} y`).includes(text.slice(1, -1)) || text === '', text);
  assert.equal(r.apply('ab cab'), 'ab cab', 'values too short to be secrets are not blanked');
  assert.ok(b64.length > 0);
});

const CFG = `control: { state_dir: /fake/state, socket: /fake/uplinkd.sock }
secrets: /etc/uplinkd/secrets.yaml
uplinks:
  wan1: { interface: wan1, priority: 10, gateway: 198.51.100.1, probe: { profile: fast } }
  wan2: { interface: wan2, mode: backup, priority: 20, gateway: 203.0.113.1, probe: { profile: fast } }
notify:
  - { events: ["*"], webhook: { url: "https://hooks.example.net/u", token_secret: hook } }
`;

test('a daemon with secrets: none in its log, events, status, plan or errors, even echoed back', async (t) => {
  const system = kernelWithTwoUplinks();
  system.secretsFiles.set('/etc/uplinkd/secrets.yaml', { text: `hook: ${JSON.stringify(SECRET)}\n`, mode: 0o600 });
  // The server echoes the token in its error, as some do.
  system.httpAnswer = (r) => {
    throw new Error(`refused ${r.headers?.authorization}`);
  };
  let logged = '';
  const redactor = new Redactor();
  const log = pino(
    { level: 'debug', hooks: { streamWrite: (s) => redactor.apply(s) } },
    new Writable({ write: (c, _e, cb) => ((logged += String(c)), cb()) }),
  );
  await system.store.write('/etc/uplinkd.yaml', CFG);
  const ctl = new Controller({
    configPath: '/etc/uplinkd.yaml',
    config: parseConfigText(CFG, '/etc/uplinkd.yaml'),
    system,
    log,
    redactor,
  });
  // The offload worker and the daemon's timers are unref'd: hold the loop for the test.
  const keep = setInterval(() => undefined, 1000);
  t.after(() => clearInterval(keep));
  t.after(() => ctl.stop('test'));
  await ctl.start();
  const refused = await ctl
    .api()
    .rollback()
    .catch((e: Error) => e.message);
  ctl.bus.publish({ type: 'uplink', name: 'wan2', event: 'blocked', state: 'blocked', reason: `gave up; ${SECRET}` });
  await until('the webhook tried', () => system.http.length > 0);
  assert.match(system.http[0]!.headers?.authorization ?? '', /^Bearer Hunter2/, 'the channel gets the value');
  await until('the failed try logged', () => /notification failed/.test(logged));
  const plan = await ctl.api().plan({ text: CFG.replace('priority: 20', 'priority: 25') }, 'new.yaml');
  const everything = [logged, JSON.stringify(ctl.bus.history()), JSON.stringify([ctl.status(), plan, refused])].join(
    '\n',
  );
  assert.match(everything, /refused Bearer \*\*\*/);
  for (const form of [SECRET, JSON.stringify(SECRET).slice(1, -1), encodeURIComponent(SECRET)])
    assert.ok(!everything.includes(form), `the secret (${form}) leaked`);
});

test('a daemon refuses to start on a secrets file others can read', async () => {
  const system = kernelWithTwoUplinks();
  system.secretsFiles.set('/etc/uplinkd/secrets.yaml', { text: `hook: ${JSON.stringify(SECRET)}\n`, mode: 0o644 });
  await system.store.write('/etc/uplinkd.yaml', CFG);
  const ctl = new Controller({
    configPath: '/etc/uplinkd.yaml',
    config: parseConfigText(CFG, '/etc/uplinkd.yaml'),
    system,
    log: pino({ level: 'silent' }),
  });
  await assert.rejects(
    ctl.start(),
    (e: unknown) => isUplinkError(e) && e.code === 'SECRETS_MODE' && e.hint === 'chmod 600 /etc/uplinkd/secrets.yaml',
  );
});

test('secrets keep the value as written, and the redactor never breaks JSON on a digit-only one', () => {
  const s = parseSecrets('pin: 0123456789\nexp: 12e50\nhex: 0x1F2E\nbig: 12345678901234567890\nyes: true\n', 'f');
  assert.deepEqual(Object.fromEntries(s), {
    pin: '0123456789',
    exp: '12e50',
    hex: '0x1F2E',
    big: '12345678901234567890',
    yes: 'true',
  });
  const r = new Redactor();
  r.set(['1234']);
  const e = { attempt: 12345, reason: 'token 1234 refused', list: ['x1234y'] };
  assert.deepEqual(r.value(e), { attempt: 12345, reason: 'token *** refused', list: ['x***y'] });
  const line = r.applyJson(JSON.stringify(e));
  assert.deepEqual(JSON.parse(line), { attempt: 12345, reason: 'token *** refused', list: ['x***y'] });
});
