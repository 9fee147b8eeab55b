/**
 * Secret detection for tool-call arguments ("secret-in-arguments" guardrail).
 *
 * Pure, dependency-free and bounded: every regex is compiled once at module
 * load, every string is pre-filtered with cheap substring checks before any
 * regex runs, and the walk is capped by depth, node count and bytes scanned.
 *
 * Findings never carry the secret (not even a partial preview): only the
 * kind, the JSON path of the string that holds it, and a fixed label. Object
 * keys that themselves look like secrets are redacted in the reported path.
 */

export type SecretKind =
  | "aws_access_key_id"
  | "aws_secret_access_key"
  | "private_key_block"
  | "github_token"
  | "gitlab_token"
  | "slack_token"
  | "stripe_live_key"
  | "openai_api_key"
  | "anthropic_api_key"
  | "google_api_key"
  | "npm_token"
  | "pypi_token"
  | "jwt"
  | "generic_credential_assignment";

export interface SecretFinding {
  kind: SecretKind;
  /** JSON path of the string value, like $.env.AWS_KEY or $.files[2].content */
  path: string;
  label: string;
}

const LABELS: Readonly<Record<SecretKind, string>> = {
  aws_access_key_id: "AWS access key ID",
  aws_secret_access_key: "AWS secret access key",
  private_key_block: "private key block",
  github_token: "GitHub token",
  gitlab_token: "GitLab personal access token",
  slack_token: "Slack token",
  stripe_live_key: "Stripe live secret key",
  openai_api_key: "OpenAI API key",
  anthropic_api_key: "Anthropic API key",
  google_api_key: "Google API key",
  npm_token: "npm access token",
  pypi_token: "PyPI API token",
  jwt: "JSON Web Token",
  generic_credential_assignment: "credential assignment",
};

const DEFAULT_LIMIT = 16;
const DEFAULT_MAX_BYTES = 256 * 1024;
/**
 * Deeper than any request may nest (protocol/v1 MAX_NESTING_DEPTH = 64: deeper bodies never reach the
 * engine), so no depth a request can have hides a secret from the scan; the recursion stays bounded.
 */
const MAX_DEPTH = 65;
/** Hard cap on visited nodes so huge arrays of numbers/booleans stay bounded too. */
const MAX_NODES = 100_000;
/** No text detector can match a string shorter than this ("token=" + 8 chars). */
const MIN_TEXT_LEN = 14;
/** Minimum length of a value held by a credential-named key. */
const MIN_GENERIC_LEN = 8;

// ---------------------------------------------------------------------------
// Prefix-anchored token detectors
// ---------------------------------------------------------------------------

interface TokenDetector {
  readonly kind: SecretKind;
  /** Case-sensitive substrings; the regex only runs if one is present. */
  readonly needles: readonly string[];
  /** Shortest possible match, to skip short strings without any scan. */
  readonly minLen: number;
  /** Without `validate`: non-global, used with test(). With it: global, iterated. */
  readonly re: RegExp;
  readonly validate?: (match: string) => boolean;
}

const HAS_DIGIT = /[0-9]/;
const HAS_LETTER = /[A-Za-z]/;

const TOKEN_DETECTORS: readonly TokenDetector[] = [
  {
    kind: "aws_access_key_id",
    needles: ["AKIA", "ASIA", "ABIA", "ACCA"],
    minLen: 20,
    re: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/,
  },
  {
    kind: "private_key_block",
    needles: ["-----BEGIN "],
    minLen: 27,
    re: /-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----/,
  },
  {
    kind: "github_token",
    needles: ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
    minLen: 40,
    re: /\b(?:(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b/,
  },
  {
    kind: "gitlab_token",
    needles: ["glpat-"],
    minLen: 26,
    re: /\bglpat-[A-Za-z0-9_-]{20,}\b/,
  },
  {
    kind: "slack_token",
    needles: ["xox"],
    minLen: 15,
    re: /\bxox[abprs]-[A-Za-z0-9-]{10,}\b/,
  },
  {
    kind: "stripe_live_key",
    needles: ["_live_"],
    minLen: 32,
    re: /\b(?:sk|rk)_live_[A-Za-z0-9]{24,}\b/,
  },
  {
    kind: "openai_api_key",
    needles: ["sk-"],
    minLen: 23,
    re: /\bsk-(?!ant-)(?:proj-)?[A-Za-z0-9_-]{20,}\b/g,
    // Real keys are random; requiring a digit and a letter keeps hyphenated
    // slugs such as "sk-loading-spinner-wrapper" from matching.
    validate: (m) => {
      const body = m.startsWith("sk-proj-") ? m.slice(8) : m.slice(3);
      return HAS_DIGIT.test(body) && HAS_LETTER.test(body);
    },
  },
  {
    kind: "anthropic_api_key",
    needles: ["sk-ant-"],
    minLen: 27,
    re: /\bsk-ant-[A-Za-z0-9_-]{20,}\b/,
  },
  {
    kind: "google_api_key",
    needles: ["AIza"],
    minLen: 39,
    re: /\bAIza[0-9A-Za-z_-]{35}\b/,
  },
  {
    kind: "npm_token",
    needles: ["npm_"],
    minLen: 40,
    re: /\bnpm_[A-Za-z0-9]{36}\b/,
  },
  {
    kind: "pypi_token",
    needles: ["pypi-AgEIcHlwaS5vcmc"],
    minLen: 70,
    re: /\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}/,
  },
  {
    kind: "jwt",
    needles: ["eyJ"],
    minLen: 38,
    re: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b/,
  },
];

// ---------------------------------------------------------------------------
// Context-dependent detectors
// ---------------------------------------------------------------------------

/** Property names that announce an AWS secret access key. */
const AWS_SECRET_KEY_NAME = /aws[_-]?secret|secret[_-]?access[_-]?key/i;
/** A standalone 40-char base64-ish run (value under an AWS-secret key). */
const AWS_SECRET_VALUE = /(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/;
/** `aws_secret_access_key = ...` / `AWS_SECRET_ACCESS_KEY=...` / `"SecretAccessKey": "..."` in text. */
const AWS_SECRET_TEXT =
  /secret_?access_?key["']?\s*(?::=|=>|[=:])\s*["']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/i;
const AWS_SECRET_TEXT_MIN_LEN = 55;

/** Property names that hold credentials. */
const CREDENTIAL_KEY_NAME =
  /password|passwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret|private[_-]?key/i;

/**
 * Last word of a credential-looking property name that shows the value is
 * metadata about the credential rather than the credential itself
 * (secretName, private_key_path, passwordPolicy, apiKeyId, ...).
 */
const METADATA_NAME_WORDS: ReadonlySet<string> = new Set([
  "name", "names", "file", "files", "path", "paths", "dir", "ref", "refs", "env", "var",
  "hint", "policy", "length", "len", "type", "types", "field", "prompt", "label", "title",
  "desc", "description", "help", "question", "placeholder", "id", "ids", "arn", "url", "uri",
  "enabled", "required", "count", "version", "provider", "manager", "store", "source",
  "location", "format", "header", "param", "mode", "expiry", "expires", "expiration",
  "created", "updated", "rotation", "at", "date", "time", "timestamp",
]);

/** Free-text assignment of a credential: `password=...`, `API_KEY: ...`, `"token": "..."`. */
const GENERIC_TEXT =
  /(password|passwd|secret|api[_-]?key|token)["']?\s*(?::=|=>|[=:])\s*["']?([^\s"'`]{8,})/gi;

const PLACEHOLDER_PATTERNS: readonly RegExp[] = [
  /^<[^<>]*>$/, // <your-key>
  /\$\{/, // ${DB_PASSWORD}, prefix-${VAR}
  /^\$\(/, // $(cat secret.txt)
  /^\$[A-Za-z_][A-Za-z0-9_]*$/, // $DB_PASSWORD
  /^\{\{.*\}\}$/, // {{ secrets.TOKEN }}
  /^%[A-Za-z_][A-Za-z0-9_]*%$/, // %PASSWORD%
  /\*\*\*/, // ***, hunter***
  /change[-_]?me/i,
  /^x{3,}/i, // xxxx, XXX-XXX
  /^(?:your|Your|YOUR)(?:[-_ ]|[A-Z])/, // your-api-key, your_token, yourApiKey
  /example/i,
  /redacted/i,
  /placeholder/i,
  /^(?:undefined|null|none|nil|true|false)$/i,
  /^(?:process\.env|os\.environ|os\.getenv|System\.getenv|ENV\[)/, // env lookups
  /^(.)\1*$/s, // all the same char
];

function isPlaceholder(value: string): boolean {
  for (const re of PLACEHOLDER_PATTERNS) {
    if (re.test(value)) return true;
  }
  return false;
}

/** Free text only: the right-hand side looks like code (call, member access, type) rather than a literal. */
const CODE_CALL_OR_TYPE = /[(<[]/;
const DOTTED_IDENTIFIER = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+[;,]?$/;
/** A literal secret in free text has a digit or a symbol; pure words are prose or identifiers. */
const DIGIT_OR_SYMBOL = /[0-9!@#$%^&*+=?~|/\\-]/;

function isGenericTextValue(value: string): boolean {
  return (
    DIGIT_OR_SYMBOL.test(value) &&
    !CODE_CALL_OR_TYPE.test(value) &&
    !DOTTED_IDENTIFIER.test(value) &&
    !isPlaceholder(value)
  );
}

const WHITESPACE = /\s/;

function isCredentialKeyName(name: string): boolean {
  if (!CREDENTIAL_KEY_NAME.test(name)) return false;
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  let last = "";
  for (let i = words.length - 1; i >= 0; i--) {
    const w = words[i];
    if (w) {
      last = w;
      break;
    }
  }
  return !METADATA_NAME_WORDS.has(last);
}

// ---------------------------------------------------------------------------
// String scanning
// ---------------------------------------------------------------------------

/**
 * Any detector's needle, in one pattern: a string with none of them (nearly every argument) is done with
 * the detectors in one scan instead of one `includes` per needle (~40), which a process woken cold per call
 * pays for at every step.
 */
const ANY_NEEDLE = new RegExp(
  [...new Set(TOKEN_DETECTORS.flatMap((d) => d.needles))].map((needle) => needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"),
);

function hasNeedle(text: string, needles: readonly string[]): boolean {
  for (const n of needles) {
    if (text.includes(n)) return true;
  }
  return false;
}

function runDetector(d: TokenDetector, text: string): boolean {
  if (!d.validate) return d.re.test(text);
  const re = d.re;
  re.lastIndex = 0;
  try {
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      if (d.validate(m[0])) return true;
    }
    return false;
  } finally {
    re.lastIndex = 0;
  }
}

function genericInText(text: string): boolean {
  const re = GENERIC_TEXT;
  re.lastIndex = 0;
  try {
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const keyword = m[1];
      const value = m[2];
      if (keyword === undefined || value === undefined) continue;
      // nextPageToken / page_token are pagination cursors, not credentials.
      if (keyword.toLowerCase() === "token") {
        const before = text.slice(Math.max(0, m.index - 5), m.index).toLowerCase();
        if (/page_?$/.test(before)) continue;
      }
      if (isGenericTextValue(value)) return true;
    }
    return false;
  } finally {
    re.lastIndex = 0;
  }
}

/**
 * Detects secrets in one string. `keyName` is the name of the property that
 * holds it (for JSON values), which enables the key-dependent rules.
 * Returns kinds in a stable order, each at most once.
 */
function scanString(text: string, keyName: string | undefined): readonly SecretKind[] {
  let kinds: SecretKind[] | undefined; // made at the first finding: most strings have none
  const len = text.length;

  if (len >= MIN_TEXT_LEN && ANY_NEEDLE.test(text)) {
    for (const d of TOKEN_DETECTORS) {
      if (len >= d.minLen && hasNeedle(text, d.needles) && runDetector(d, text)) {
        (kinds ??= []).push(d.kind);
      }
    }
  }

  const awsByKey =
    keyName !== undefined && len >= 40 && AWS_SECRET_KEY_NAME.test(keyName) && AWS_SECRET_VALUE.test(text);
  if (awsByKey || (len >= AWS_SECRET_TEXT_MIN_LEN && AWS_SECRET_TEXT.test(text))) {
    (kinds ??= []).push("aws_secret_access_key");
  }

  // The generic rule is a fallback: only when nothing specific was found.
  if (kinds === undefined) {
    const byKey =
      keyName !== undefined &&
      len >= MIN_GENERIC_LEN &&
      isCredentialKeyName(keyName) &&
      !WHITESPACE.test(text) &&
      !isPlaceholder(text);
    if (byKey || (len >= MIN_TEXT_LEN && genericInText(text))) {
      (kinds ??= []).push("generic_credential_assignment");
    }
  }
  return kinds ?? NO_KINDS;
}

const NO_KINDS: readonly SecretKind[] = Object.freeze([]);

// ---------------------------------------------------------------------------
// JSON walk
// ---------------------------------------------------------------------------

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function formatPath(segments: readonly (string | number)[]): string {
  let out = "$";
  for (const seg of segments) {
    if (typeof seg === "number") {
      out += `[${seg}]`;
    } else if (scanString(seg, undefined).length > 0) {
      // The key itself looks like a credential: never echo it.
      out += '["<redacted>"]';
    } else if (IDENTIFIER.test(seg)) {
      out += `.${seg}`;
    } else {
      out += `[${JSON.stringify(seg)}]`;
    }
  }
  return out;
}

interface WalkState {
  readonly findings: SecretFinding[];
  readonly limit: number;
  budget: number;
  nodes: number;
  done: boolean;
  /** The object walked first; `seen` starts with it once a nested object shows up. */
  readonly root: unknown;
  /** Objects walked already (shared or cyclic references are walked once); made at the first nested object. */
  seen: Set<object> | undefined;
  readonly path: (string | number)[];
}

function visitString(s: WalkState, text: string, keyName: string | undefined): void {
  if (s.budget <= 0) {
    s.done = true;
    return;
  }
  const scanned = text.length > s.budget ? text.slice(0, s.budget) : text;
  s.budget -= scanned.length;
  const kinds = scanString(scanned, keyName);
  if (kinds.length > 0) {
    const path = formatPath(s.path);
    for (const kind of kinds) {
      s.findings.push({ kind, path, label: LABELS[kind] });
      if (s.findings.length >= s.limit) {
        s.done = true;
        return;
      }
    }
  }
  if (s.budget <= 0) s.done = true;
}

/** Name of a `{ name|key: "DB_PASSWORD", value: "..." }` entry (k8s/ECS env style), if any. */
function pairName(obj: Record<string, unknown>): string | undefined {
  if (typeof obj["value"] !== "string" && typeof obj["Value"] !== "string") return undefined;
  for (const k of ["name", "key", "Name", "Key"]) {
    const v = obj[k];
    if (typeof v === "string") return v;
  }
  return undefined;
}

function walk(s: WalkState, node: unknown, depth: number, keyName: string | undefined): void {
  if (s.done) return;
  if (++s.nodes > MAX_NODES) {
    s.done = true;
    return;
  }
  if (typeof node === "string") {
    visitString(s, node, keyName);
    return;
  }
  if (typeof node !== "object" || node === null) return;
  if (depth >= MAX_DEPTH) return;
  if (depth > 0) {
    const seen = (s.seen ??= new Set([s.root as object]));
    if (seen.has(node)) return;
    seen.add(node);
  }

  if (Array.isArray(node)) {
    for (let i = 0; i < node.length && !s.done; i++) {
      s.path.push(i);
      // Elements inherit the array's property name: { "api_keys": ["..."] }.
      walk(s, node[i], depth + 1, keyName);
      s.path.pop();
    }
    return;
  }
  if (ArrayBuffer.isView(node)) return;

  const obj = node as Record<string, unknown>;
  const pair = pairName(obj);
  for (const key of Object.keys(obj)) {
    if (s.done) return;
    s.path.push(key);
    const effectiveName = pair !== undefined && (key === "value" || key === "Value") ? pair : key;
    walk(s, obj[key], depth + 1, effectiveName);
    s.path.pop();
  }
}

function positiveInt(value: unknown, fallback: number): number {
  if (typeof value !== "number" || Number.isNaN(value)) return fallback;
  if (value === Infinity) return Number.MAX_SAFE_INTEGER;
  return Math.max(0, Math.floor(value));
}

/**
 * Walks any JSON value (objects, arrays, strings; keys too are strings but
 * only values are scanned) and returns findings, at most `limit` (default 16).
 * Never throws; bounded work: stops after scanning `maxBytes` (default 256 KiB)
 * of string data and a depth of 65 (past any request's nesting limit).
 */
export function findSecrets(value: unknown, options?: { limit?: number; maxBytes?: number }): SecretFinding[] {
  const findings: SecretFinding[] = [];
  try {
    const limit = positiveInt(options?.limit, DEFAULT_LIMIT);
    const maxBytes = positiveInt(options?.maxBytes, DEFAULT_MAX_BYTES);
    if (limit === 0 || maxBytes === 0) return findings;
    const state: WalkState = {
      findings,
      limit,
      budget: maxBytes,
      nodes: 0,
      done: false,
      root: value,
      seen: undefined,
      path: [],
    };
    walk(state, value, 0, undefined);
  } catch {
    // Hostile inputs (throwing getters, revoked proxies): keep what we have.
  }
  return findings;
}

/** Same detection on one string (used for shell command text). */
export function findSecretsInText(text: string): Array<{ kind: SecretKind; label: string }> {
  try {
    if (typeof text !== "string") return [];
    const scanned = text.length > DEFAULT_MAX_BYTES ? text.slice(0, DEFAULT_MAX_BYTES) : text;
    return scanString(scanned, undefined).map((kind) => ({ kind, label: LABELS[kind] }));
  } catch {
    return [];
  }
}
