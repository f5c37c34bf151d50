/** The schema of `jobs.NAME` (docs/jobs.md): supervised processes driven by a condition. */
import { z } from 'zod';
import { CondError, parseCondition } from './condition.js';
import { duration, positiveDuration } from './duration.js';
import { hinted } from './errors.js';
import { absolutePath, command, evenAfterChildErrors } from './types.js';

/** A condition, parsed now so that `uplink check` points inside it. */
export const conditionText = z
  .string()
  .trim()
  .min(1)
  .superRefine((text, ctx) => {
    try {
      parseCondition(text);
    } catch (e) {
      if (!(e instanceof CondError)) throw e;
      ctx.addIssue({
        code: 'custom',
        input: text,
        message: hinted(`column ${e.column}: ${e.message} in "${text}"`, e.hint),
      });
    }
  });

/** A state value whose change restarts a running job. */
export const RESTART_ON_RE = /^(default\.(uplink|address)|uplink\.[a-z][a-z0-9_-]{0,30}\.(address|state))$/;
const restartOnValue = z.string().regex(RESTART_ON_RE, {
  error: (iss) =>
    hinted(
      `${JSON.stringify(iss.input)} is not a value a job can restart on`,
      'use default.uplink, default.address, uplink.NAME.address or uplink.NAME.state',
    ),
});

export const jobSchema = z
  .strictObject({
    run: z
      .union(
        [
          command,
          z.array(z.string().min(1)).min(1, {
            error: hinted(
              'the argument list is empty',
              'write the program and its arguments, e.g. [openvpn, --config, FILE]',
            ),
          }),
        ],
        {
          error: hinted(
            'run is not a command',
            'write a command line, or a list: [openvpn, --config, /etc/openvpn/office.conf]',
          ),
        },
      )
      .describe('Command line (run with /bin/sh -c) or an argument list (run as is), in its own process group.'),
    when: conditionText
      .optional()
      .describe('Condition under which the job runs, e.g. default.up (docs/jobs.md); omitted: always.'),
    restart: z
      .enum(['always', 'on-failure', 'never'])
      .default('on-failure')
      .describe('When to restart the job after it exits while its condition holds (default on-failure).'),
    restart_delay: duration.prefault('1s').describe('Wait before the first restart; doubles per restart (default 1s).'),
    max_restart_delay: positiveDuration.prefault('1m').describe('The longest wait between restarts (default 1m).'),
    max_restarts: z
      .int()
      .min(1)
      .max(1000)
      .default(5)
      .describe('More restarts than this within restart_window mark the job failed (default 5).'),
    restart_window: positiveDuration.prefault('1m').describe('The crash-loop window (default 1m).'),
    restart_on: z
      .array(restartOnValue)
      .default([])
      .describe('Values whose change restarts a running job, e.g. [default.uplink] to reconnect through a new uplink.'),
    stop_timeout: positiveDuration
      .prefault('10s')
      .describe('After SIGTERM, wait this long before SIGKILL to the process group (default 10s).'),
    user: z.string().min(1).optional().describe("Run as this user (name or uid); default: the daemon's."),
    group: z.string().min(1).optional().describe("Run with this group (name or gid); default: the user's."),
    env: z.record(z.string(), z.string()).optional().describe('Extra environment variables.'),
    cwd: absolutePath().optional().describe('Working directory (default /).'),
  })
  .superRefine((j, ctx) => {
    if (
      typeof j.restart_delay === 'number' &&
      typeof j.max_restart_delay === 'number' &&
      j.restart_delay > j.max_restart_delay
    )
      ctx.addIssue({
        code: 'custom',
        path: ['max_restart_delay'],
        input: j.max_restart_delay,
        message: hinted(
          'max_restart_delay is shorter than restart_delay',
          'raise max_restart_delay or lower restart_delay',
        ),
      });
  }, evenAfterChildErrors)
  .describe(
    'A supervised job: runs exactly while its condition holds. Declared but inert: validated now, acted on in a later release.',
  );

/**
 * The settings of a job that a running instance was started with: changed by a reload or an
 * apply, the instance restarts (the others — when, restart policy, timeouts — apply as they are).
 */
export const JOB_RESTART_KEYS = ['run', 'env', 'user', 'group', 'cwd'] as const;
