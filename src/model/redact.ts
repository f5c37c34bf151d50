/**
 * Secret values never leave the daemon in text: every log line, event and control-socket reply
 * passes through one Redactor, which knows the values of the loaded secrets file. Catching them
 * at these three doors (not at each message) also covers what a library or a server echoes back.
 */
export const REDACTED = '***';

/** Shorter values would blank ordinary words; the secrets file refuses them (secrets.ts). */
export const MIN_SECRET_LENGTH = 4;

export class Redactor {
  private forms: string[] = [];

  /** The values of the secrets now in use (a reload may change them). */
  set(values: Iterable<string>): void {
    const forms = new Set<string>();
    for (const v of values) {
      if (v.length < MIN_SECRET_LENGTH) continue;
      // As written, JSON-escaped, URL-encoded, and base64 (an HTTP Basic header carries user:password).
      forms.add(v);
      forms.add(JSON.stringify(v).slice(1, -1));
      forms.add(encodeURIComponent(v));
      forms.add(Buffer.from(v).toString('base64'));
    }
    // Longest first: a value containing another is replaced whole.
    this.forms = [...forms].sort((a, b) => b.length - a.length);
  }

  get active(): boolean {
    return this.forms.length > 0;
  }

  apply(text: string): string {
    let out = text;
    for (const f of this.forms) if (out.includes(f)) out = out.split(f).join(REDACTED);
    return out;
  }
}
