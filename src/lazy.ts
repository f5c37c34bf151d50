/**
 * Node built-in modules that only some features need (crypto, https, dgram, v8), loaded on
 * first use instead of at start: each costs an idle daemon memory and start time even when the
 * feature is not configured (https brings tls; crypto is some twenty modules of Node's own).
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

export function builtin<T>(id: `node:${string}`): () => T {
  let m: T | undefined;
  return () => (m ??= load(id) as T);
}
