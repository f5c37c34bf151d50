/** The strict command line: parsed as a table, then the built `uplink` and `uplinkd` run as a user would. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseCommandLine, UsageError } from '../../src/cli/args.js';
import { COMMANDS, usage } from '../../src/cli/commands.js';
import { UPLINK, UPLINKD } from '../../src/lab/daemon.js';
import { VERSION } from '../../src/version.js';

const TOP = usage().split('\n')[0]!;
const parse = (argv: string[]) => parseCommandLine(argv, COMMANDS, TOP);

const OK: [string, string[], Partial<ReturnType<typeof parse>>][] = [
  [
    'global options before the command',
    ['--socket', '/x', '--json', 'status'],
    { command: 'status', socket: '/x', json: true, args: [] },
  ],
  [
    'global options after the command',
    ['status', '--json', '--socket', '/x'],
    { command: 'status', socket: '/x', json: true },
  ],
  ['--socket=PATH', ['status', '--socket=/y'], { command: 'status', socket: '/y' }],
  ['a command option', ['quit', '--teardown'], { command: 'quit', opts: { teardown: true } }],
  ['positional arguments', ['demand', 'dsl', 'off'], { command: 'demand', args: ['dsl', 'off'] }],
  ['an optional argument left out', ['help'], { command: 'help', args: [] }],
  ['--version alone', ['--version'], { command: undefined, version: true }],
  ['-h is --help', ['status', '-h'], { command: 'status', help: true }],
  ['--help after a command does not need its arguments', ['up', '--help'], { command: 'up', help: true, args: [] }],
];

for (const [name, argv, want] of OK) {
  test(`cli args: ${name}`, () => {
    const got = parse(argv);
    for (const [k, v] of Object.entries(want)) {
      if (k === 'opts') for (const [o, ov] of Object.entries(v as object)) assert.equal(got.opts[o], ov, o);
      else assert.deepEqual(got[k as keyof typeof got], v, k);
    }
  });
}

const BAD: [string, string[], RegExp, RegExp?][] = [
  ['a misspelt command option', ['quit', '--teardwn'], /unknown option --teardwn/, /did you mean "--teardown"/],
  [
    'a misspelt global option, with --socket after it',
    ['status', '--jsno', '--socket', '/x'],
    /unknown option --jsno/,
    /did you mean "--json"/,
  ],
  ['an option of another command', ['status', '--teardown'], /unknown option --teardown/],
  ['an unknown command', ['stauts'], /unknown command "stauts"/, /did you mean "status"/],
  ['a missing argument', ['up'], /missing NAME/],
  ['an extra argument', ['up', 'wan1', 'wan2'], /unexpected argument "wan2"/],
  ['an argument to a command that takes none', ['status', 'wan1'], /unexpected argument "wan1"/, /takes no arguments/],
  ['--socket without a value', ['status', '--socket'], /--socket needs a value/],
  ['--version on a command', ['status', '--version'], /unknown option --version/],
];

for (const [name, argv, message, hint] of BAD) {
  test(`cli args refused: ${name}`, () => {
    assert.throws(
      () => parse(argv),
      (e: unknown) => {
        assert.ok(e instanceof UsageError);
        assert.equal(e.code, 'USAGE');
        assert.match(e.message, message);
        if (hint) assert.match(e.hint ?? '', hint);
        assert.match(e.usage, /^usage: uplink /);
        return true;
      },
    );
  });
}

async function run(bin: string, args: string[], env: Record<string, string> = {}) {
  try {
    const r = await promisify(execFile)(process.execPath, [bin, ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

test('uplink: exit 2 with the usage line and a did-you-mean for a bad flag', async () => {
  const r = await run(UPLINK, ['quit', '--teardwn', '--socket', '/nonexistent/uplinkd.sock']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option --teardwn/);
  assert.match(r.stderr, /did you mean "--teardown"/);
  assert.match(r.stderr, /usage: uplink .*quit \[--teardown\]/);
});

test('uplink: --socket after the command is the socket talked to (exit 1: not running)', async () => {
  const r = await run(UPLINK, ['status', '--json', '--socket', '/nonexistent/uplinkd.sock']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no answer on \/nonexistent\/uplinkd\.sock/);
});

test('uplink: help, help COMMAND, --version, no command', async () => {
  const help = await run(UPLINK, ['help']);
  assert.equal(help.code, 0);
  for (const name of Object.keys(COMMANDS)) assert.match(help.stdout, new RegExp(`^  ${name} `, 'm'));
  assert.match(help.stdout, /exit codes: 0 done, 1 failed/);
  const one = await run(UPLINK, ['help', 'quit']);
  assert.equal(one.code, 0);
  assert.match(one.stdout, /--teardown/);
  assert.equal((await run(UPLINK, ['help', 'nope'])).code, 2);
  assert.equal((await run(UPLINK, ['quit', '--help'])).stdout, one.stdout, 'COMMAND --help is help COMMAND');
  const v = await run(UPLINK, ['--version']);
  assert.equal(v.code, 0);
  assert.equal(v.stdout.trim(), `uplink ${VERSION}`);
  const none = await run(UPLINK, []);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^usage: uplink/);
});

test('uplinkd: an unknown flag or a stray argument is a usage error (exit 2), not a crash', async () => {
  for (const args of [['--dryrun'], ['extra'], ['--config']]) {
    const r = await run(UPLINKD, args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /usage: uplinkd/);
  }
});
