/** YAML syntax problems, and which schema problems they make unreliable. */
import type { Document, LineCounter, YAMLError } from 'yaml';
import type { ConfigProblem } from './errors.js';
import { formatPath, keyPathAtOffset, offsetPosition, pathAtOffset, topLevelSections } from './positions.js';

const YAML_HINTS: Record<string, string> = {
  DUPLICATE_KEY: 'each key may appear once per map; remove or merge the repeated one',
  BAD_INDENT: 'check the indentation: nested keys need more spaces than their parent, siblings the same',
  TAB_AS_INDENT: 'indent with spaces; YAML does not allow tabs',
  MISSING_CHAR: 'a bracket or quote is not closed',
  MULTILINE_IMPLICIT_KEY: 'a key must fit on one line; is a ":" or quote missing?',
  BLOCK_AS_IMPLICIT_KEY: 'is a ":" missing after a key, or a value indented too far?',
  UNEXPECTED_TOKEN: 'check the line for a stray character, or quote the value',
  MULTIPLE_DOCS: 'a config is one YAML document; remove the extra ---',
  BAD_ALIAS: 'an alias (*name) must refer to an anchor (&name) defined before it',
};

export interface YamlProblems {
  problems: ConfigProblem[];
  /** Whether a schema problem sits where the YAML is broken (and so is likely a consequence). */
  shadowed(p: ConfigProblem): boolean;
}

export function yamlProblems(doc: Document, lc: LineCounter, file: string): YamlProblems {
  const problems: ConfigProblem[] = [];
  const brokenSections = new Set<string>();
  const brokenLines = new Set<number>();
  const sections = topLevelSections(doc);
  for (const err of doc.errors as YAMLError[]) {
    const offset = err.pos[0];
    const pos = offsetPosition(offset, lc);
    // One YAML mistake often yields several errors at the same spot; the first says it best.
    if (problems.some((q) => q.line === pos.line && q.column === pos.column)) continue;
    const dupPath = err.code === 'DUPLICATE_KEY' ? keyPathAtOffset(doc, offset) : undefined;
    const path = dupPath ?? pathAtOffset(doc, offset);
    const message = dupPath
      ? `duplicate key "${String(dupPath[dupPath.length - 1])}"`
      : err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    const p: ConfigProblem = { file, ...pos, path: formatPath(path), message };
    const unclosed = /end with an? ([\]}])/.exec(message);
    const hint = unclosed
      ? `close it with ${unclosed[1]}, or indent its content more than the key above`
      : YAML_HINTS[err.code];
    if (hint !== undefined) p.hint = hint;
    problems.push(p);
    if (err.code === 'DUPLICATE_KEY') continue; // the document itself is fine
    brokenLines.add(pos.line);
    const section = [...sections].reverse().find((s) => s.start <= offset) ?? sections[0];
    if (section) brokenSections.add(section.name);
  }
  return {
    problems,
    shadowed: (p) => brokenLines.has(p.line) || brokenSections.has(p.path.split(/[.[]/)[0]!),
  };
}
