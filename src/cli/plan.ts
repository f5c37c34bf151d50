/**
 * `uplink plan FILE`: what a new config would change, against the running
 * daemon (its config, kernel and uplinks) or, when none runs, against an empty
 * system. Nothing is applied.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { rpc } from '../control/client.js';
import { checkConfigText } from '../config/load.js';
import { UplinkError, isUplinkError } from '../errors.js';
import { diffRulesets } from '../firewall/diff.js';
import type { Command } from './args.js';
import type { ConfigChanges } from '../apply/changes.js';

const JOB_WORDS: Record<ConfigChanges['jobs'][number]['action'], string> = {
  start: 'new: would start once its `when` holds',
  stop: 'removed: would be stopped',
  remove: 'removed (not running)',
  restart: 'command or environment changed: would restart',
  change: 'settings changed (applied as they are, no restart)',
};

/** Configs up to this size travel in the request; bigger ones by path. */
const INLINE_MAX = 512 << 10;

export interface PlanResult {
  against: 'running daemon' | 'empty system';
  changes?: ConfigChanges;
  kernel: string[];
  firewall: { added: string[]; removed: string[] };
}

export const plan: Command = {
  summary: 'show what a config FILE would change (routes, rules, ruleset) without applying it',
  args: ['FILE'],
  async run({ socket, args, json }) {
    const file = args[0]!;
    const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new UplinkError('CONFIG_READ', `cannot read ${file}: ${e.code ?? e.message}`);
    });
    const { config, problems } = checkConfigText(text, file);
    if (!config) {
      for (const p of problems)
        console.error(`${p.file}:${p.line}:${p.column} ${p.path}: ${p.message}${p.hint ? ` — ${p.hint}` : ''}`);
      return 1;
    }
    let result: PlanResult;
    try {
      // A request line is at most 1 MiB: a bigger config is read by the daemon from its path.
      const params = Buffer.byteLength(text) > INLINE_MAX ? { path: resolve(file), file } : { text, file };
      result = (await rpc(socket, 'plan', params)) as PlanResult;
    } catch (e) {
      if (!isUplinkError(e) || e.code !== 'DAEMON_NOT_RUNNING') throw e;
      result = { against: 'empty system', kernel: [], firewall: diffRulesets(undefined, config) };
    }
    if (json) return (console.log(JSON.stringify(result, null, 2)), 0);
    console.log(`plan for ${file}, against the ${result.against}:`);
    if (result.against === 'empty system')
      console.log('  (routes and rules depend on the live interfaces: start uplinkd to see them)');
    const ch = result.changes;
    for (const n of ch?.uplinks.added ?? []) console.log(`  + uplink ${n}`);
    for (const n of ch?.uplinks.removed ?? []) console.log(`  - uplink ${n}`);
    for (const c of ch?.uplinks.changed ?? []) console.log(`  ~ uplink ${c.name}: ${c.keys.join(', ')}`);
    for (const j of ch?.jobs ?? []) console.log(`  job ${j.name}: ${JOB_WORDS[j.action]}`);
    for (const c of result.kernel) console.log(`  ${c}`);
    for (const l of result.firewall.removed) console.log(`  - nft ${l}`);
    for (const l of result.firewall.added) console.log(`  + nft ${l}`);
    const more = ch
      ? ch.uplinks.added.length + ch.uplinks.removed.length + ch.uplinks.changed.length + ch.jobs.length
      : 0;
    if (!more && !result.kernel.length && !result.firewall.added.length && !result.firewall.removed.length)
      console.log('  no changes');
    return 0;
  },
};
