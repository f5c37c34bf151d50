#!/usr/bin/env node
/** `uplinkd`: the daemon entry point. */
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load.js';
import { isUplinkError } from '../errors.js';
import { DryRunSystem } from '../system/dry-run.js';
import { LinuxSystem } from '../system/linux.js';
import { Controller } from './controller.js';
import { createLogger, type LogFormat } from './log.js';
import { Redactor } from '../model/redact.js';
import { VERSION } from '../version.js';

const USAGE = `usage: uplinkd [--config FILE] [--dry-run] [--log-format json|pretty] [--log-level LEVEL]
               [--socket PATH] [--state-dir DIR]
  --config FILE    config file (default /etc/uplinkd/uplinkd.yaml)
  --dry-run        watch the kernel and probe, but change nothing: log what it would do
                   (routes, rules, nft, sysctls, connect commands) once each
  --socket PATH    control socket (overrides control.socket)
  --state-dir DIR  state directory (overrides control.state_dir)`;

/** uplinkd's options; parseArgs is strict: an unknown flag or a stray argument throws. */
function parseOptions() {
  return parseArgs({
    options: {
      config: { type: 'string', default: '/etc/uplinkd/uplinkd.yaml' },
      'dry-run': { type: 'boolean', default: false },
      'log-format': { type: 'string', default: 'json' },
      'log-level': { type: 'string' },
      socket: { type: 'string' },
      'state-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
}

/** Exit codes: 0 stopped cleanly, 1 a coded error (config, lock), 2 usage, 70 a bug. */
async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions();
  } catch (e) {
    return (console.error(`uplinkd: ${(e as Error).message}\n${USAGE}`), 2);
  }
  const { values } = parsed;
  if (values.help) return (console.log(USAGE), 0);
  if (values.version) return (console.log(VERSION), 0);
  const format = values['log-format'] as LogFormat;
  if (format !== 'json' && format !== 'pretty')
    return (console.error(`uplinkd: --log-format must be json or pretty\n${USAGE}`), 2);

  const config = await loadConfigFile(values.config!);
  const overrides = { socket: values.socket, state_dir: values['state-dir'] };
  if (overrides.socket) config.control.socket = overrides.socket;
  if (overrides.state_dir) config.control.state_dir = overrides.state_dir;
  const redactor = new Redactor();
  const log = createLogger(format, values['log-level'] ?? config.control.log_level ?? 'info', redactor);
  const system = values['dry-run'] ? new DryRunSystem(log) : new LinuxSystem(log);
  let done!: () => void;
  const stopped = new Promise<void>((r) => (done = r));
  const ctl = new Controller({
    configPath: values.config!,
    config,
    system,
    log,
    overrides,
    redactor,
    onStopped: () => done(),
  });
  await ctl.start();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => ctl.stopSafely(sig));
  process.on('SIGHUP', () => void ctl.reload().catch(() => undefined));
  await stopped;
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    if (isUplinkError(e)) {
      console.error(`uplinkd: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`);
      process.exit(1);
    }
    console.error(e);
    process.exit(70);
  },
);
