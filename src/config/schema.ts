/**
 * THE config schema: the one source of config types. Unknown keys are errors everywhere
 * (strict objects). `Config` is the validated, defaulted form (durations in ms);
 * `ConfigInput` is what the YAML file may contain (durations as strings).
 */
import { z } from 'zod';
import { crossCheck } from './cross-checks.js';
import { probeSchema, uplinkSchema } from './schema-uplink.js';
import { controlSchema } from './schema-control.js';
import { demandSchema, firewallSchema, forwardSchema, hooksSchema, lanSchema } from './schema-sections.js';
import { scheduleSchema } from './schema-schedule.js';
import { announceSchema, notifySchema } from './schema-remote.js';
import { absolutePath, evenAfterChildErrors, jobName, timeZone, uplinkName } from './types.js';
import { jobSchema } from './schema-jobs.js';

export const defaultsSchema = z
  .strictObject({
    manage: z.boolean().default(false).describe('false (default): interfaces not named in the config are left alone.'),
    probe: probeSchema
      .optional()
      .describe("Probe settings every uplink inherits; an uplink's own probe keys override them."),
  })
  .describe('Defaults for all uplinks.');

export const TOP_LEVEL_KEYS = [
  'control',
  'defaults',
  'uplinks',
  'lan',
  'forwards',
  'demand',
  'jobs',
  'hooks',
  'schedule',
  'announce',
  'notify',
  'secrets',
  'timezone',
  'firewall',
] as const;

export const configSchema = z
  .strictObject({
    control: controlSchema.prefault({}),
    defaults: defaultsSchema.prefault({}),
    uplinks: z
      .record(uplinkName, uplinkSchema)
      .prefault({})
      .describe('The uplinks, by name (lowercase letters, digits, _ and -; at most 31 characters).'),
    lan: z.array(lanSchema).prefault([]).describe('LAN interfaces and their zones.'),
    forwards: z.array(forwardSchema).prefault([]).describe('Port forwards from the uplinks to LAN hosts.'),
    firewall: firewallSchema.prefault({}),
    demand: demandSchema.prefault({}),
    jobs: z.record(jobName, jobSchema).prefault({}).describe('Supervised jobs, by name (docs/jobs.md).'),
    hooks: hooksSchema.prefault({}),
    schedule: z
      .array(scheduleSchema)
      .prefault([])
      .describe('Scheduled actions (cron) and allow/deny windows (docs/schedule.md).'),
    announce: z
      .array(announceSchema)
      .prefault([])
      .describe('Address announcements: dyndns2, RFC 2136, commands (docs/announce.md).'),
    notify: z.array(notifySchema).prefault([]).describe('Notifications by mail, webhook or command (docs/notify.md).'),
    secrets: absolutePath()
      .optional()
      .describe(
        'YAML file of secrets (passwords, TSIG keys, tokens) that `*_secret` keys name; mode 600, owned by root.',
      ),
    timezone: timeZone
      .optional()
      .describe("IANA time zone of the schedule's times (default: the system's, from TZ or /etc/localtime)."),
  })
  .superRefine((cfg, ctx) => crossCheck(cfg, ctx as z.core.$RefinementCtx<unknown>), evenAfterChildErrors)
  .describe('uplinkd configuration (uplinkd.yaml).');

/** The validated config: defaults filled in, durations in milliseconds, fwmarks as numbers. */
export type Config = z.output<typeof configSchema>;
/** The config as written in the file (durations as strings like "5s"). */
export type ConfigInput = z.input<typeof configSchema>;

export type { UplinkConfig, ProbeConfig } from './schema-uplink.js';
export type LanConfig = Config['lan'][number];
export type ForwardConfig = Config['forwards'][number];
export type JobConfig = Config['jobs'][string];
export type ScheduleConfig = Config['schedule'][number];
export type AnnounceConfig = Config['announce'][number];
export type NotifyConfig = Config['notify'][number];
export type KernelConfig = Config['control']['kernel'];
export type ControlConfig = Config['control'];
