/** `uplink check FILE`: validate a config offline; the interfaces need not exist. */
import { loadConfigFile } from '../config/load.js';
import { ConfigError } from '../config/errors.js';
import type { Command } from './args.js';

export const check: Command = {
  summary: 'validate a config file (exit 1 with file:line:col errors)',
  args: ['FILE'],
  async run({ args, json }) {
    const file = args[0]!;
    try {
      const cfg = await loadConfigFile(file);
      console.log(
        json
          ? JSON.stringify({ file, ok: true, uplinks: Object.keys(cfg.uplinks) })
          : `${file}: ok (${Object.keys(cfg.uplinks).length} uplink(s))`,
      );
      return 0;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      if (json) return (console.log(JSON.stringify({ file, ok: false, problems: e.problems })), 1);
      // One problem a line, as compilers print them, so editors can jump to each.
      console.error(e.message);
      console.error(`${e.problems.length} problem(s); nothing was applied`);
      return 1;
    }
  },
};
