/** Jobs in the config: conditions checked against the uplinks and jobs, cycles refused, positions exact. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfigText, parseConfigText } from '../../src/config/load.js';
import { formatProblem } from '../../src/config/errors.js';

const UPLINKS = `uplinks:
  fiber: { interface: eth0 }
  lte: { interface: wwan0, mode: backup }
`;

/** [name, jobs yaml, the one problem as "line:col path: message" start, hint part]. */
const BAD: [string, string, string, string][] = [
  [
    'an unknown uplink in a condition, with a did-you-mean',
    '  vpn: { run: openvpn, when: uplink.fibre.up }\n',
    '5:30 jobs.vpn.when: column 8: unknown uplink "fibre" in "uplink.fibre.up"',
    'did you mean "fiber"?',
  ],
  [
    'an unknown job',
    '  vpn: { run: openvpn }\n  mail: { run: fetchmail, when: job.vpm.running }\n',
    '6:33 jobs.mail.when: column 5: unknown job "vpm"',
    'did you mean "vpn"?',
  ],
  [
    'a state that does not exist',
    '  vpn: { run: openvpn, when: uplink.lte.state == "degarded" }\n',
    '5:30 jobs.vpn.when: column 21: "degarded" is not an uplink state',
    'did you mean "degraded"?',
  ],
  [
    'default.uplink compared with an unknown uplink',
    '  vpn: { run: openvpn, when: default.uplink == "lt" }\n',
    '5:30 jobs.vpn.when: column 19: unknown uplink "lt"',
    'did you mean "lte"?',
  ],
  [
    'a malformed condition',
    '  vpn: { run: openvpn, when: "default.up and" }\n',
    '5:30 jobs.vpn.when: column 15: a condition is missing',
    '',
  ],
  [
    'a job that waits for itself',
    '  vpn: { run: openvpn, when: job.vpn.running }\n',
    '5:30 jobs.vpn.when: job vpn waits for itself (job.vpn.running)',
    'remove the job.NAME.running',
  ],
  [
    'an unknown restart_on value',
    '  vpn: { run: openvpn, restart_on: [default.gateway] }\n',
    '5:37 jobs.vpn.restart_on[0]: "default.gateway" is not a value a job can restart on',
    'default.uplink',
  ],
  [
    'restart_on an unknown uplink',
    '  vpn: { run: openvpn, restart_on: [uplink.dsl.address] }\n',
    '5:37 jobs.vpn.restart_on[0]: unknown uplink "dsl"',
    'configured uplinks: fiber, lte',
  ],
  [
    'a restart delay longer than its cap',
    '  vpn: { run: openvpn, restart_delay: 2m, max_restart_delay: 1m }\n',
    '5:62 jobs.vpn.max_restart_delay: max_restart_delay is shorter than restart_delay',
    '',
  ],
  [
    'an empty argument list',
    '  vpn: { run: [] }\n',
    '5:15 jobs.vpn.run: the argument list is empty',
    'write the program',
  ],
];

for (const [name, jobs, want, hint] of BAD) {
  test(`jobs config: ${name}`, () => {
    const { config, problems } = checkConfigText(`${UPLINKS}jobs:\n${jobs}`, 'uplinkd.yaml');
    assert.equal(config, undefined);
    const shown = problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
    assert.equal(problems.length, 1, problems.map(formatProblem).join('\n'));
    assert.ok(shown[0]!.startsWith(want), `${shown[0]}\n  does not start with\n${want}`);
    assert.ok((problems[0]!.hint ?? '').includes(hint), problems[0]!.hint);
  });
}

test('jobs config: a cycle through two jobs is refused at both', () => {
  const { problems } = checkConfigText(
    `${UPLINKS}jobs:\n  a: { run: x, when: job.b.running }\n  b: { run: y, when: default.up and job.a.running }\n`,
    'uplinkd.yaml',
  );
  assert.deepEqual(
    problems.map((p) => `${p.path}: ${p.message}`),
    [
      'jobs.a.when: jobs wait for each other in a cycle: a → b → a',
      'jobs.b.when: jobs wait for each other in a cycle: b → a → b',
    ],
  );
});

test('jobs config: a job with everything, and the defaults', () => {
  const cfg = parseConfigText(
    `${UPLINKS}jobs:
  vpn:
    run: [openvpn, --config, /etc/openvpn/office.conf]
    when: default.up and not uplink.lte.selected
    restart: always
    restart_on: [default.uplink, uplink.fiber.address]
    user: nobody
    cwd: /var/lib/vpn
    env: { VERB: "3" }
  mail: { run: "fetchmail -d0", when: job.vpn.running }
`,
    'uplinkd.yaml',
  );
  assert.deepEqual(cfg.jobs.vpn!.run, ['openvpn', '--config', '/etc/openvpn/office.conf']);
  assert.deepEqual(cfg.jobs.mail, {
    run: 'fetchmail -d0',
    when: 'job.vpn.running',
    restart: 'on-failure',
    restart_delay: 1000,
    max_restart_delay: 60_000,
    max_restarts: 5,
    restart_window: 60_000,
    restart_on: [],
    stop_timeout: 10_000,
  });
});
