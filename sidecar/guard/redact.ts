/**
 * Redaction of telemetry before it leaves a process or reaches a log: the semantics of the official Python
 * SDK's `redact_event` (apie-sh/python-sdk `events.py`), as pure functions. The SDK runs every event through
 * it before queueing; the sidecar uses `redactValue` on tool arguments before they are logged or shown.
 *
 * - A key is sensitive when its lower-cased name equals or contains one of the redact keys (the defaults
 *   below plus `redactKeys`): its whole value becomes `"[REDACTED]"`.
 * - A string is sensitive when it matches a default value pattern (Bearer tokens, Stripe keys, JWT-like
 *   triples) or one of `redactDenyPatterns` (case-insensitive regexes; invalid ones are skipped).
 * - A dotted path in `redactAllowPaths` (case-insensitive, array indexes as segments, e.g. `metadata.token`
 *   or `tool.name`) is kept verbatim, subtree included.
 * - With `maxPayloadBytes`, an event whose JSON is larger keeps its envelope but loses its payload, replaced
 *   by a truncation marker; `redactValue` returns the marker itself.
 * Additions to Python: nesting deeper than {@link MAX_REDACT_DEPTH} is replaced (never passed through
 * unscanned), a reference cycle becomes {@link CIRCULAR}, objects with `toJSON` are redacted in their JSON form, and the `payload_summary` (wire-form)
 * and `arguments` sections are scrubbed too.
 */

export const DEFAULT_REDACT_KEYS: readonly string[] = [
  "apiKey",
  "api_key",
  "password",
  "token",
  "secret",
  "authorization",
  "access_token",
  "refresh_token",
  "private_key",
  "client_secret",
];

export const REDACTED = "[REDACTED]";
export const TRUNCATED_NOTICE = "[TRUNCATED_FOR_SIZE]";
export const CIRCULAR = "[CIRCULAR]";
/** Values nested deeper than this are replaced by {@link REDACTED} rather than left unscanned. */
export const MAX_REDACT_DEPTH = 64;
/** Key names whose verdict a redactor remembers (then it starts over): bounded, whatever the input. */
const MAX_JUDGED_KEYS = 4_096;

/** The sections of an event that carry caller data (camelCase as built by SDKs, plus wire-form aliases). */
const EVENT_SECTIONS = ["metadata", "payloadSummary", "payload_summary", "tool", "action", "resource", "error", "arguments"];
/** What truncation empties besides `metadata` and the payload summary. */
const TRUNCATED_SECTIONS = ["tool", "action", "resource", "error", "decision", "approval"];

const DEFAULT_VALUE_PATTERNS: readonly RegExp[] = [
  /\bBearer\s+[A-Za-z0-9\-._~+/]+=*/i,
  /\bsk_(live|test)_[A-Za-z0-9]{12,}\b/i,
  /\b[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{8,}\b/,
];

export interface RedactOptions {
  /** Extra sensitive key names, added to {@link DEFAULT_REDACT_KEYS}. */
  redactKeys?: readonly string[] | undefined;
  /** Dotted paths kept verbatim. */
  redactAllowPaths?: readonly string[] | undefined;
  /** Extra regexes (source text) whose matching string values are redacted. */
  redactDenyPatterns?: readonly string[] | undefined;
  /** Above this many bytes of JSON, the payload is replaced by a truncation marker. */
  maxPayloadBytes?: number | undefined;
  /** A caller's own transform, applied first (Python's `redact=` callable). */
  redact?: ((event: Record<string, unknown>) => Record<string, unknown>) | undefined;
}

export interface TruncationMarker {
  apie_payload_truncated: true;
  apie_payload_bytes: number;
  apie_payload_max_bytes: number;
}

export interface Redactor {
  /** A redacted copy of a timeline event (the input is not modified). */
  redactEvent<E extends Record<string, unknown>>(event: E): E;
  /** A redacted copy of any JSON value; `path` is where the value sits, for allow-path matching. */
  redactValue(value: unknown, path?: readonly string[]): unknown;
}

/** Compiles the options once; use this on hot paths instead of the one-shot functions. */
export function createRedactor(options: RedactOptions = {}): Redactor {
  const keys = [...DEFAULT_REDACT_KEYS, ...(options.redactKeys ?? [])].map((k) => k.toLowerCase());
  const allow = new Set((options.redactAllowPaths ?? []).map((p) => p.toLowerCase()));
  const valuePatterns = [...DEFAULT_VALUE_PATTERNS, ...compilePatterns(options.redactDenyPatterns ?? [])];
  const maxBytes = options.maxPayloadBytes !== undefined && options.maxPayloadBytes > 0 ? options.maxPayloadBytes : undefined;

  // Key names repeat (the same few members in every call's arguments and every event): each is judged once.
  const judgedKeys = new Map<string, boolean>();
  const sensitiveKey = (key: string): boolean => {
    let sensitive = judgedKeys.get(key);
    if (sensitive === undefined) {
      const k = key.toLowerCase();
      sensitive = keys.some((candidate) => k.includes(candidate));
      if (judgedKeys.size >= MAX_JUDGED_KEYS) judgedKeys.clear();
      judgedKeys.set(key, sensitive);
    }
    return sensitive;
  };
  const sensitiveValue = (value: string): boolean => valuePatterns.some((p) => p.test(value));
  // Without allow paths nothing is kept by its path, so none is built: `path` is then undefined throughout.
  const allowed = (path: readonly string[] | undefined): boolean => path !== undefined && allow.has(path.join(".").toLowerCase());
  const rootPath = (path: readonly string[]): string[] | undefined => (allow.size > 0 ? [...path] : undefined);

  /** `ancestors` holds the objects on the current path: a cycle becomes {@link CIRCULAR}, not a hang. */
  function scrub(value: unknown, path: string[] | undefined, ancestors: Set<object>): unknown {
    if (allowed(path)) return value;
    if (typeof value === "string") return sensitiveValue(value) ? REDACTED : value;
    if (value === null || typeof value !== "object") return value;
    if (ancestors.has(value)) return CIRCULAR;
    if (ancestors.size >= MAX_REDACT_DEPTH) return REDACTED;
    ancestors.add(value);
    try {
      if (Array.isArray(value)) return value.map((item, i) => scrub(item, path && [...path, String(i)], ancestors));
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") return scrub(toJSON.call(value), path, ancestors);
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        const nestedPath = path && [...path, key];
        const nested = !allowed(nestedPath) && sensitiveKey(key) ? REDACTED : scrub((value as Record<string, unknown>)[key], nestedPath, ancestors);
        // An own member, as Object.fromEntries makes it: `out["__proto__"] = x` would set the prototype instead.
        if (key === "__proto__") Object.defineProperty(out, key, { value: nested, writable: true, enumerable: true, configurable: true });
        else out[key] = nested;
      }
      return out;
    } finally {
      ancestors.delete(value);
    }
  }

  return {
    redactEvent<E extends Record<string, unknown>>(event: E): E {
      const source = options.redact ? options.redact({ ...event }) : event;
      const result: Record<string, unknown> = { ...source };
      for (const section of EVENT_SECTIONS) {
        if (result[section] !== undefined && result[section] !== null) result[section] = scrub(result[section], rootPath([section]), new Set());
      }
      if (maxBytes !== undefined) {
        const bytes = jsonBytes(result);
        if (bytes > maxBytes) {
          result.metadata = marker(bytes, maxBytes);
          result[Object.hasOwn(result, "payload_summary") ? "payload_summary" : "payloadSummary"] = { notice: TRUNCATED_NOTICE };
          for (const section of TRUNCATED_SECTIONS) result[section] = null;
          if (Object.hasOwn(result, "arguments")) result.arguments = null;
        }
      }
      return result as E;
    },
    redactValue(value: unknown, path: readonly string[] = []): unknown {
      const redacted = scrub(value, rootPath(path), new Set());
      if (maxBytes !== undefined) {
        const bytes = jsonBytes(redacted);
        if (bytes > maxBytes) return marker(bytes, maxBytes);
      }
      return redacted;
    },
  };
}

/** One-shot {@link Redactor.redactEvent}. */
export function redactEvent<E extends Record<string, unknown>>(event: E, options: RedactOptions = {}): E {
  return createRedactor(options).redactEvent(event);
}

/** One-shot {@link Redactor.redactValue}: e.g. tool arguments before they are logged. */
export function redactValue(value: unknown, options: RedactOptions & { path?: readonly string[] } = {}): unknown {
  return createRedactor(options).redactValue(value, options.path);
}

/** Case-insensitive regexes from source text; the ones that do not compile are left out. */
export function compilePatterns(sources: readonly string[]): RegExp[] {
  const out: RegExp[] = [];
  for (const source of sources) {
    try {
      out.push(new RegExp(source, "i"));
    } catch {
      // Python skips patterns that do not compile; callers that want an error validate first.
    }
  }
  return out;
}

function marker(bytes: number, max: number): TruncationMarker {
  return { apie_payload_truncated: true, apie_payload_bytes: bytes, apie_payload_max_bytes: max };
}

/** UTF-8 size of the JSON text; a value JSON cannot encode (BigInt, cycles) counts as infinitely large. */
function jsonBytes(value: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
