/** What the offload worker does (pure functions of plain data), and how it answers. */
import { loadConfigFile, parseConfigText } from '../config/load.js';
import type { ConfigProblem } from '../config/errors.js';
import { renderRuleset, type FirewallInput } from '../firewall/render.js';
import { diffRulesets } from '../firewall/diff.js';
import type { Config } from '../config/schema.js';

export type Task =
  | { kind: 'loadConfig'; path: string }
  | { kind: 'parseConfig'; text: string; file: string }
  | { kind: 'renderRuleset'; input: FirewallInput }
  | { kind: 'diffRulesets'; current?: Config; next: Config };

export type TaskReply =
  | { ok: true; value: unknown }
  | { ok: false; error: { code: string; message: string; hint?: string; problems?: ConfigProblem[] } };

export async function runTask(t: Task): Promise<unknown> {
  switch (t.kind) {
    case 'loadConfig':
      return loadConfigFile(t.path);
    case 'parseConfig':
      return parseConfigText(t.text, t.file);
    case 'renderRuleset':
      return JSON.stringify(renderRuleset(t.input));
    case 'diffRulesets':
      return diffRulesets(t.current, t.next);
  }
}
