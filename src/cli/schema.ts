/** `uplink schema`: the config's JSON Schema, for editors and CI linting. */
import { configJsonSchema } from '../config/json-schema.js';
import type { Command } from './args.js';

export const schema: Command = {
  summary: 'print the config JSON Schema',
  async run() {
    console.log(JSON.stringify(configJsonSchema(), null, 2));
    return 0;
  },
};
