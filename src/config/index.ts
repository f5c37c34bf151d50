/** The config module: schema (the one source of config types), loading, JSON Schema. */
export { configSchema, type Config, type ConfigInput } from './schema.js';
export type {
  UplinkConfig,
  ProbeConfig,
  LanConfig,
  ForwardConfig,
  JobConfig,
  ScheduleConfig,
  AnnounceConfig,
  NotifyConfig,
  KernelConfig,
  ControlConfig,
} from './schema.js';
export { checkConfigText, parseConfigText, loadConfigFile, type ConfigCheck } from './load.js';
export { ConfigError, formatProblem, type ConfigProblem } from './errors.js';
export { configJsonSchema } from './json-schema.js';
export { parseDuration, checkDuration, formatDuration, duration, positiveDuration, durationType } from './duration.js';
export { resolveProbe, PROBE_PROFILES, type ResolvedProbe } from './probe.js';
export { KERNEL_DEFAULTS, IPROUTE2_NAMED_PROTOS, RESERVED_TABLES } from './schema-control.js';
export { portRange } from './schema-sections.js';
