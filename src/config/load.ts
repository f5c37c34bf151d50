/**
 * Loading the config: YAML (with positions) → schema → Config. Every problem of a file
 * (YAML syntax and schema) is reported together, sorted, in one ConfigError.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, visit, type Document } from 'yaml';
import { UplinkError } from '../errors.js';
import { ConfigError, sortProblems, type ConfigProblem } from './errors.js';
import { issueToProblems } from './issues.js';
import { configSchema, type Config } from './schema.js';
import { yamlProblems } from './yaml-problems.js';

export interface ConfigCheck {
  /** The config, when there were no problems. */
  config?: Config;
  /** Every problem, sorted by line and column; empty when the config is valid. */
  problems: ConfigProblem[];
}

/** Validates config text; never throws for bad input. `file` is only used in problems. */
export function checkConfigText(text: string, file: string): ConfigCheck {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, merge: true });
  const yaml = yamlProblems(doc, lc, file);
  const problems: ConfigProblem[] = [...yaml.problems];

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    problems.push(unreadable(e as Error, doc, lc, file));
    return { problems: sortProblems(problems) };
  }
  if (data === null || data === undefined) data = {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    problems.push({
      file,
      line: 1,
      column: 1,
      path: '',
      message: `the config must be a map of keys, not ${Array.isArray(data) ? 'a list' : 'a single value'}`,
      hint: 'start with top-level keys like uplinks:, lan:, control:',
    });
    return { problems: sortProblems(problems) };
  }
  // An empty top-level section (`lan:` with nothing after it) means its default.
  const obj = data as Record<string, unknown>;
  for (const k of Object.keys(obj)) if (obj[k] === null) delete obj[k];

  const result = configSchema.safeParse(obj, { reportInput: true });
  if (!result.success) {
    // Where the YAML is broken, schema problems mislead: leave them out.
    for (const issue of result.error.issues) {
      const found = issueToProblems(issue, { file, doc, lc, schema: configSchema });
      problems.push(...found.filter((p) => !yaml.shadowed(p)));
    }
  }
  if (problems.length > 0 || !result.success) return { problems: sortProblems(problems) };
  return { config: result.data, problems: [] };
}

/** toJS failed: an alias bomb (the only way a parsed document fails to expand), at its first alias. */
function unreadable(e: Error, doc: Document, lc: LineCounter, file: string): ConfigProblem {
  let at: number | undefined;
  visit(doc, {
    Alias(_k, node) {
      at = node.range?.[0];
      return visit.BREAK;
    },
  });
  const pos = at === undefined ? { line: 1, col: 1 } : lc.linePos(at);
  const bomb = /alias count/i.test(e.message);
  return {
    file,
    line: pos.line,
    column: pos.col,
    path: '',
    message: bomb ? 'the YAML expands its aliases (*name) into too many copies' : `cannot read the YAML: ${e.message}`,
    ...(bomb
      ? { hint: 'aliases may be expanded at most 1,000 times in all (a "billion laughs" guard): write the values out' }
      : {}),
  };
}

/** Parses and validates config text; throws ConfigError (CONFIG_INVALID) listing every problem. */
export function parseConfigText(text: string, file: string): Config {
  const { config, problems } = checkConfigText(text, file);
  if (problems.length > 0 || config === undefined) throw new ConfigError(problems);
  return config;
}

/** Reads a config file; CONFIG_READ if it cannot be read, ConfigError if it is invalid. */
export async function loadConfigFile(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const hint =
      code === 'ENOENT'
        ? 'create it (see examples/ and docs/config.md), or pass --config FILE'
        : code === 'EACCES' || code === 'EPERM'
          ? 'make it readable by the daemon, or run as root'
          : code === 'EISDIR'
            ? 'point --config at the YAML file, not a directory'
            : 'check the path and its permissions';
    throw new UplinkError('CONFIG_READ', `cannot read config ${path}: ${code || (e as Error).message}`, hint);
  }
  return parseConfigText(text, path);
}
