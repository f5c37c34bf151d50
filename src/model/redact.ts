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

  /** Plain text (an error message, a pretty log line). */
  apply(text: string): string {
    let out = text;
    for (const f of this.forms) if (out.includes(f)) out = out.split(f).join(REDACTED);
    return out;
  }

  /** A copy with every string redacted: the same shape, so a digit-only secret never eats a number. */
  value<T>(v: T): T {
    if (!this.active) return v;
    const walk = (x: unknown): unknown => {
      if (typeof x === 'string') return this.apply(x);
      if (Array.isArray(x)) return x.map(walk);
      if (x && typeof x === 'object' && (x as object).constructor === Object)
        return Object.fromEntries(Object.entries(x).map(([k, y]) => [this.apply(k), walk(y)]));
      return x;
    };
    return walk(v) as T;
  }

  /**
   * A JSON text (a log line): redacts inside string literals only, so numbers and structure
   * stay intact; a line that would no longer parse is redacted as plain text instead.
   */
  applyJson(text: string): string {
    if (!this.active) return text;
    const out = text.replace(/"(?:[^"\\]|\\.)*"/g, (lit) => this.apply(lit));
    if (out === text) return out;
    try {
      JSON.parse(out);
      return out;
    } catch {
      return this.apply(text);
    }
  }
}
