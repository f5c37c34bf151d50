/**
 * Strict command lines for `uplink`: each command declares its options and positional
 * arguments; anything else is a USAGE error (exit 2) with the command's usage line and a
 * did-you-mean. Global options (`--socket`, `--json`) may stand before or after the
 * command. Pure: no I/O, so it is table-tested.
 */
import { parseArgs } from 'node:util';
import { closest } from '../config/errors.js';
import { UplinkError } from '../errors.js';

export interface OptionSpec {
  type: 'boolean' | 'string';
  help: string;
  /** Shown in usage for string options: `--socket PATH`. */
  value?: string;
  short?: string;
}

export interface CommandSpec {
  summary: string;
  /** Positional arguments as usage shows them: `NAME`, `FILE`, `on|off`; `[X]` is optional. */
  args?: string[];
  options?: Record<string, OptionSpec>;
}

export interface CommandContext {
  socket: string;
  /** `--json`: machine-readable output. */
  json: boolean;
  args: string[];
  opts: Record<string, string | boolean | undefined>;
}

export interface Command extends CommandSpec {
  run(ctx: CommandContext): Promise<number>;
}

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  socket: {
    type: 'string',
    value: 'PATH',
    help: "the daemon's control socket (default $UPLINKD_SOCKET or /run/uplinkd/uplinkd.sock)",
  },
  json: { type: 'boolean', help: 'machine-readable output where a command has it' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
};

/** A USAGE error carries the usage line of the command it is about. */
export class UsageError extends UplinkError {
  constructor(
    message: string,
    hint: string | undefined,
    readonly usage: string,
  ) {
    super('USAGE', message, hint);
  }
}

export interface ParsedLine {
  /** undefined: no command given (`uplink`, `uplink --version`, `uplink --help`). */
  command?: string;
  args: string[];
  opts: Record<string, string | boolean | undefined>;
  socket?: string;
  json: boolean;
  help: boolean;
  version: boolean;
}

const optionText = (name: string, o: OptionSpec) =>
  o.type === 'string' ? `[--${name} ${o.value ?? 'VALUE'}]` : `[--${name}]`;

export function usageLine(name: string, spec: CommandSpec): string {
  const opts = Object.entries(spec.options ?? {}).map(([n, o]) => optionText(n, o));
  return ['usage: uplink [--socket PATH] [--json]', name, ...opts, ...(spec.args ?? [])].join(' ');
}

const required = (spec: CommandSpec) => (spec.args ?? []).filter((a) => !a.startsWith('[')).length;

/** The first positional word: parsed loosely, so options of any command do not trip it. */
function findCommand(argv: string[]): { name?: string; index: number } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return { name: argv[i + 1], index: i + 1 };
    if (a === '--socket') {
      i++;
      continue;
    }
    if (!a.startsWith('-') || a === '-') return { name: a, index: i };
  }
  return { index: -1 };
}

function parseError(e: unknown, known: string[], usage: string): UsageError {
  const err = e as { code?: string; message: string };
  const flag = /'(-[^' ]+)/.exec(err.message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) {
    const near = closest(flag.replace(/^-+/, ''), known);
    const hint = near !== undefined ? `did you mean "--${near}"?` : `options: ${known.map((k) => `--${k}`).join(', ')}`;
    return new UsageError(`unknown option ${flag}`, hint, usage);
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) {
    return new UsageError(`option ${flag} needs a value`, undefined, usage);
  }
  return new UsageError(err.message, undefined, usage);
}

/** The command named `name`; a UsageError with a did-you-mean when there is none. */
export function commandSpec<C extends CommandSpec>(name: string, commands: Record<string, C>, topUsage: string): C {
  if (Object.hasOwn(commands, name)) return commands[name]!;
  const near = closest(name, Object.keys(commands));
  throw new UsageError(
    `unknown command "${name}"`,
    near ? `did you mean "${near}"?` : 'uplink help lists the commands',
    topUsage,
  );
}

/**
 * Parses argv against the command table. Throws UsageError for an unknown command, option,
 * a missing or an extra argument.
 */
export function parseCommandLine(argv: string[], commands: Record<string, CommandSpec>, topUsage: string): ParsedLine {
  const { name, index } = findCommand(argv);
  const spec = name === undefined ? undefined : commandSpec(name, commands, topUsage);
  const usage = spec ? usageLine(name!, spec) : topUsage;
  const options = {
    ...GLOBAL_OPTIONS,
    ...(spec ? spec.options : { version: { type: 'boolean', help: '' } as OptionSpec }),
  };
  const rest = index < 0 ? argv : [...argv.slice(0, index), ...argv.slice(index + 1)];
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    const config = Object.fromEntries(
      Object.entries(options).map(([n, o]) => [n, { type: o.type, ...(o.short ? { short: o.short } : {}) }]),
    );
    ({ values, positionals } = parseArgs({ args: rest, options: config, strict: true, allowPositionals: true }));
  } catch (e) {
    throw parseError(
      e,
      Object.keys(options).filter((k) => k !== 'version' || !spec),
      usage,
    );
  }
  const line: ParsedLine = {
    command: name,
    args: positionals,
    opts: values,
    socket: values.socket as string | undefined,
    json: values.json === true,
    help: values.help === true,
    version: values.version === true,
  };
  if (spec && !line.help) checkArity(spec, positionals, usage);
  return line;
}

function checkArity(spec: CommandSpec, args: string[], usage: string): void {
  const all = spec.args ?? [];
  if (args.length < required(spec))
    throw new UsageError(
      `missing ${all
        .slice(args.length)
        .filter((a) => !a.startsWith('['))
        .join(' ')}`,
      undefined,
      usage,
    );
  if (args.length > all.length)
    throw new UsageError(
      `unexpected argument "${args[all.length]}"`,
      all.length ? undefined : 'this command takes no arguments',
      usage,
    );
}

/** `uplink help COMMAND`: the usage line, the summary and each option. */
export function commandHelp(name: string, spec: CommandSpec): string {
  const rows = Object.entries({ ...spec.options, ...GLOBAL_OPTIONS }).map(
    ([n, o]) => `  ${`--${n}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`.padEnd(18)} ${o.help}`,
  );
  return `${usageLine(name, spec)}\n\n${spec.summary}\n\noptions:\n${rows.join('\n')}`;
}
