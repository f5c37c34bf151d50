/**
 * The secrets file: a YAML map `name: value` of passwords, TSIG keys and tokens, referenced by
 * name from the config (`password_secret: NAME`). Nothing here may put a value into a message:
 * the YAML parser's own errors quote the source line, so only line numbers are reported.
 */
import { LineCounter, parseDocument } from 'yaml';
import { UplinkError } from '../errors.js';
import { MIN_SECRET_LENGTH } from '../model/redact.js';
import type { Config } from './schema.js';

export type Secrets = ReadonlyMap<string, string>;

const NAME_RE = /^[A-Za-z0-9_.-]+$/;

export function parseSecrets(text: string, file: string): Secrets {
  const lc = new LineCounter();
  // failsafe: every value is the string as written (the core schema would turn 0123 into 123, 1e5 into 100000).
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, schema: 'failsafe' });
  const first = doc.errors[0];
  if (first) {
    const line = lc.linePos(first.pos[0]).line;
    throw new UplinkError(
      'SECRETS_INVALID',
      `secrets file ${file}: not valid YAML (line ${line})`,
      'write one `name: value` per line',
    );
  }
  const data = doc.toJS() ?? {};
  if (typeof data !== 'object' || Array.isArray(data))
    throw new UplinkError(
      'SECRETS_INVALID',
      `secrets file ${file}: not a map of names to values`,
      'write one `name: value` per line',
    );
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(data)) {
    if (!NAME_RE.test(k))
      throw new UplinkError(
        'SECRETS_INVALID',
        `secrets file ${file}: ${JSON.stringify(k)} is not a secret name`,
        'names use letters, digits, _ . and -',
      );
    if (typeof v !== 'string')
      throw new UplinkError(
        'SECRETS_INVALID',
        `secrets file ${file}: the value of ${k} is not a string`,
        'quote it: name: "value"',
      );
    const value = v;
    if (value.length < MIN_SECRET_LENGTH)
      throw new UplinkError(
        'SECRETS_INVALID',
        `secrets file ${file}: the value of ${k} is shorter than ${MIN_SECRET_LENGTH} characters`,
        'a secret that short could not be kept out of logs; use a real one',
      );
    out.set(k, value);
  }
  return out;
}

/** Where the config names a secret: path (for the message) and name. */
export function secretRefs(cfg: Config): { path: string; name: string }[] {
  const refs: { path: string; name: string }[] = [];
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        const p = path ? `${path}.${k}` : k;
        if (k.endsWith('_secret') && typeof x === 'string') refs.push({ path: p, name: x });
        else walk(x, p);
      }
  };
  walk({ announce: cfg.announce, notify: cfg.notify }, '');
  return refs;
}

/** Every referenced name must be in the file (named in the error, never its value). */
export function checkSecretRefs(cfg: Config, secrets: Secrets | undefined): void {
  const refs = secretRefs(cfg);
  if (!refs.length) return;
  if (!cfg.secrets)
    throw new UplinkError(
      'SECRETS_MISSING',
      `${refs[0]!.path} names secret "${refs[0]!.name}" but the config has no secrets file`,
      'add secrets: /etc/uplinkd/secrets.yaml (mode 600) with that name in it',
    );
  const missing = refs.filter((r) => !secrets?.has(r.name));
  if (missing.length)
    throw new UplinkError(
      'SECRETS_MISSING',
      `secret${missing.length > 1 ? 's' : ''} ${missing.map((r) => `"${r.name}" (${r.path})`).join(', ')} not in ${cfg.secrets}`,
      `add ${missing.map((r) => `${r.name}: ...`).join(', ')} to ${cfg.secrets}`,
    );
}
