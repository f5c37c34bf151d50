/**
 * Durations: `500ms`, `5s`, `10m`, `1h`, `1d` and combinations like `1m30s` or `1h30m`,
 * converted to milliseconds. In the config a duration is a string, or the number 0.
 */
import { z } from 'zod';
import { UplinkError } from '../errors.js';
import { hinted } from './errors.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

/**
 * No duration is longer than a year: every delay the daemon arms waits as written (model/timer),
 * and a year keeps every deadline a valid date (`1e9d` would not be one).
 */
export const MAX_DURATION_MS = 365 * UNIT_MS.d;
const LONGEST = 'must be at most 365d (no duration is longer than a year)';

const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
/** For JSON Schema (editors): what the config accepts as a duration string. */
const DURATION_PATTERN = '^\\s*(0|(\\d+(\\.\\d+)?(ms|s|m|h|d))+)\\s*$';
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Unit spellings people write, mapped to ours (for the "write 5s" hint). */
const UNIT_WORDS: Record<string, Unit> = {
  ms: 'ms',
  msec: 'ms',
  msecs: 'ms',
  millis: 'ms',
  millisecond: 'ms',
  milliseconds: 'ms',
  s: 's',
  sec: 's',
  secs: 's',
  second: 's',
  seconds: 's',
  m: 'm',
  min: 'm',
  mins: 'm',
  minute: 'm',
  minutes: 'm',
  h: 'h',
  hr: 'h',
  hrs: 'h',
  hour: 'h',
  hours: 'h',
  d: 'd',
  day: 'd',
  days: 'd',
};

export type DurationCheck = { ok: true; ms: number } | { ok: false; message: string; hint: string };

const EXAMPLES = 'use ms, s, m, h or d, e.g. 500ms, 5s, 10m, 1h30m';

/** A rewrite of near-miss input into our syntax ("5 sec" → "5s"), if there is one. */
function rewrite(text: string): string | undefined {
  const tokens = [...text.toLowerCase().matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)/g)];
  const rest = text
    .toLowerCase()
    .replace(/(\d+(?:\.\d+)?)\s*([a-z]+)/g, '')
    .replace(/[\s,+]|and/g, '');
  if (tokens.length === 0 || rest !== '') return undefined;
  let out = '';
  for (const [, num, word] of tokens) {
    const unit = UNIT_WORDS[word!];
    if (unit === undefined) return undefined;
    out += `${num}${unit}`;
  }
  return DURATION_RE.test(out) ? out : undefined;
}

/** Checks a config value as a duration, never throws. */
export function checkDuration(input: unknown): DurationCheck {
  if (input === 0) return { ok: true, ms: 0 };
  if (typeof input === 'number') {
    if (input < 0 || !Number.isFinite(input)) {
      return { ok: false, message: `${input} is not a duration`, hint: 'durations cannot be negative' };
    }
    return {
      ok: false,
      message: `${input} is not a duration`,
      hint: `durations need a unit: write ${input}s (or ${input}ms)`,
    };
  }
  if (typeof input !== 'string') {
    const shown = input === null ? 'an empty value' : (JSON.stringify(input) ?? String(input));
    return { ok: false, message: `${shown} is not a duration`, hint: EXAMPLES };
  }
  const text = input.trim();
  const shown = JSON.stringify(input);
  if (text === '0') return { ok: true, ms: 0 };
  if (DURATION_RE.test(text)) {
    let ms = 0;
    for (const [, num, unit] of text.matchAll(PART_RE)) ms += Number(num) * UNIT_MS[unit as Unit];
    if (!(ms <= MAX_DURATION_MS)) return { ok: false, message: `${shown} is too long`, hint: LONGEST };
    return { ok: true, ms: Math.round(ms) };
  }
  if (text.startsWith('-')) {
    return { ok: false, message: `${shown} is not a duration`, hint: 'durations cannot be negative' };
  }
  if (/^\d+(?:\.\d+)?$/.test(text)) {
    return {
      ok: false,
      message: `${shown} is not a duration`,
      hint: `durations need a unit: write ${text}s (or ${text}ms)`,
    };
  }
  const fixed = rewrite(text);
  if (fixed !== undefined) return { ok: false, message: `${shown} is not a duration`, hint: `write ${fixed}` };
  return { ok: false, message: `${shown} is not a duration`, hint: EXAMPLES };
}

/** Parses a duration to milliseconds; throws UplinkError (code CONFIG_INVALID) with a hint. */
export function parseDuration(input: string | number): number {
  const r = checkDuration(input);
  if (!r.ok) throw new UplinkError('CONFIG_INVALID', r.message, r.hint);
  return r.ms;
}

/** Formats milliseconds in config syntax: 90000 → "1m30s", 1500 → "1s500ms", 0 → "0s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * UNIT_MS[unit];
    }
  }
  return out;
}

export interface DurationOptions {
  /** Smallest allowed value in ms (inclusive). Default 0. */
  min?: number;
  /** Largest allowed value in ms (inclusive); never more than MAX_DURATION_MS. */
  max?: number;
  /** Why `max` is the limit, for the hint. */
  why?: string;
}

/**
 * A zod type for a duration: accepts a string like `5s` (or the number 0) and outputs ms.
 * JSON Schema (input) sees `string | 0`.
 */
export function durationType(opts: DurationOptions = {}) {
  const min = opts.min ?? 0;
  // Past a year checkDuration already refused it.
  const max = opts.max ?? MAX_DURATION_MS;
  return z
    .union([z.string().meta({ pattern: DURATION_PATTERN }), z.literal(0)], {
      error: (iss) => {
        const r = checkDuration(iss.input);
        return r.ok ? undefined : hinted(r.message, r.hint);
      },
    })
    .transform((value, ctx): number => {
      const r = checkDuration(value);
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', message: hinted(r.message, r.hint), input: value });
        return z.NEVER;
      }
      if (r.ms < min) {
        ctx.addIssue({
          code: 'custom',
          message: hinted(
            `${JSON.stringify(value)} is too short`,
            min <= 1 ? 'must be longer than 0' : `must be at least ${formatDuration(min)}`,
          ),
          input: value,
        });
        return z.NEVER;
      }
      if (r.ms > max) {
        ctx.addIssue({
          code: 'custom',
          message: hinted(
            `${JSON.stringify(value)} is too long`,
            `must be at most ${formatDuration(max)}${opts.why ? ` (${opts.why})` : ''}`,
          ),
          input: value,
        });
        return z.NEVER;
      }
      return r.ms;
    });
}

/** Any duration ≥ 0 (string like `5s`, or 0), output in ms. */
export const duration = durationType();
/** A duration > 0, output in ms. */
export const positiveDuration = durationType({ min: 1 });
