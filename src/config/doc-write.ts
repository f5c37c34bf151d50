/**
 * `npm run docs`: writes the generated key reference (config/doc.ts) into docs/config.md,
 * between its GENERATED markers; everything outside them is left as it is.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configReference, spliceReference } from './doc.js';

/** docs/config.md of this checkout (this file runs as dist/src/config/doc-write.js). */
export const CONFIG_DOC = fileURLToPath(new URL('../../../docs/config.md', import.meta.url));

/** Rewrites the block; true when the file changed. */
export function writeConfigDoc(file = CONFIG_DOC): boolean {
  const before = readFileSync(file, 'utf8');
  const after = spliceReference(before, configReference());
  if (after === before) return false;
  writeFileSync(`${file}.new`, after);
  renameSync(`${file}.new`, file);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const changed = writeConfigDoc();
  console.log(`${CONFIG_DOC}: ${changed ? 'key reference updated' : 'up to date'}`);
}
