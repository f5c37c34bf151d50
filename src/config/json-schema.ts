/** JSON Schema (draft 2020-12) of the config file as written: durations as strings. */
import { z } from 'zod';
import { configSchema } from './schema.js';

/** The JSON Schema of the config's input form (for `uplink schema` and editors). */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return {
    ...schema,
    title: 'uplinkd configuration',
  };
}
