import * as crypto from "node:crypto";
import { read } from "node:fs";

/**
 * The event log's on-disk record format, shared by the writer (eventLog.ts), recovery and `apie audit verify`
 * (auditVerify.ts), so all three agree byte for byte on what an intact record is.
 *
 * ## Format
 * JSON Lines, UTF-8: one record per line, each line terminated by "\n" (0x0A). A line is exactly
 *
 *     JSON.stringify({ seq, ts, kind, data, prev, hash }) + "\n"
 *
 * with the keys in that order and no whitespace. JSON.stringify escapes every control character inside
 * strings, so a record never contains a raw "\n" and splitting on 0x0A is exact.
 *
 * ## Hash (the chain)
 * `hash` is the lowercase hex SHA-256 of the record's canonical bytes, which are the UTF-8 bytes of
 *
 *     JSON.stringify({ seq, ts, kind, data, prev })
 *
 * i.e. the same line without its `hash` member. Because the writer always appends `hash` as the last member,
 * the canonical bytes are recoverable from the line alone without re-serialising anything: take the line
 * (without "\n"), drop its final 75 bytes — `,"hash":"` + 64 hex digits + `"}` — and append `}`. Verification
 * therefore hashes the bytes exactly as they are on disk: a changed byte anywhere in the line (a value, a key,
 * whitespace, key order) changes the digest or breaks the fixed suffix, and both are reported as
 * "hash mismatch (record was modified)". `prev` is the `hash` of the record before it; the first record's
 * `prev` is 64 zeros (GENESIS_HASH). `seq` starts at 1 and grows by exactly 1.
 *
 * The chain is tamper-evident, not tamper-proof: it is a plain hash, not a MAC, so someone who rewrites a
 * record *and every hash after it* produces a valid chain. Recording the last hash elsewhere (`apie audit
 * verify` prints it) turns that into a detectable change too.
 */

export interface LogRecord<T = unknown> {
  /** 1, 2, 3 … with no gaps. */
  seq: number;
  /** ISO time of the append. */
  ts: string;
  /** What happened, e.g. "event", "decision", "approval.requested", "run.started". */
  kind: string;
  /** Any JSON value (`undefined` is stored as null). */
  data: T;
  /** `hash` of the previous record; GENESIS_HASH for the first. */
  prev: string;
  /** Lowercase hex SHA-256 of the canonical bytes (see the file comment). */
  hash: string;
}

export const GENESIS_HASH = "0".repeat(64);
/** Longest line (record) the log writes or reads back; a longer line on disk is reported, never buffered. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

const NEWLINE = 0x0a;
const HASH_SUFFIX_PREFIX = Buffer.from(',"hash":"');
/** `,"hash":"` (9) + 64 hex + `"}` (2). */
const HASH_SUFFIX_BYTES = HASH_SUFFIX_PREFIX.length + 64 + 2;
const CLOSE_BRACE = Buffer.from("}");
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * One-shot SHA-256: `crypto.hash` (Node ≥ 20.12) skips the Hash object and is ~40 % faster per record than
 * createHash().update().digest(); older runtimes fall back to that.
 */
export const sha256Hex: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === "function"
    ? (text) => (crypto as unknown as { hash(algorithm: string, data: string, encoding: "hex"): string }).hash("sha256", text, "hex")
    : (text) => crypto.createHash("sha256").update(text).digest("hex");

/** Encodes one record; the returned line ends with "\n". Throws (TypeError) on data JSON cannot represent. */
export function encodeRecord(seq: number, ts: string, kind: string, data: unknown, prev: string): { line: Buffer; hash: string } {
  // JSON.stringify drops an undefined member, which would make `data` vanish from the line.
  const body = JSON.stringify({ seq, ts, kind, data: data === undefined ? null : data, prev });
  const hash = sha256Hex(body);
  const line = Buffer.from(`${body.slice(0, -1)},"hash":"${hash}"}\n`);
  return { line, hash };
}

export type DecodeResult =
  | { ok: true; record: LogRecord }
  /** `seq` is whatever the line claims when it can be read (a modified record still names itself). */
  | { ok: false; reason: string; seq: number | null; hash: string | null };

/**
 * Checks one line on its own (JSON, shape, own hash) — not its place in the chain (see ChainCheck).
 * `line` excludes the "\n".
 */
export function decodeLine(line: Buffer): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(line.toString("utf8"));
  } catch {
    return { ok: false, reason: "not valid JSON", seq: null, hash: null };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, reason: "not a log record (not a JSON object)", seq: null, hash: null };
  }
  const r = value as Record<string, unknown>;
  const seq = Number.isSafeInteger(r.seq) && (r.seq as number) >= 1 ? (r.seq as number) : null;
  const hash = typeof r.hash === "string" && HEX64.test(r.hash) ? r.hash : null;
  const bad = (field: string): DecodeResult => ({ ok: false, reason: `not a log record (${field})`, seq, hash });
  if (seq === null) return bad("seq is not a positive integer");
  if (typeof r.ts !== "string") return bad("ts is not a string");
  if (typeof r.kind !== "string") return bad("kind is not a string");
  if (!("data" in r)) return bad("data is missing");
  if (typeof r.prev !== "string" || !HEX64.test(r.prev)) return bad("prev is not 64 hex digits");
  if (hash === null) return bad("hash is not 64 hex digits");
  if (computeLineHash(line) !== hash) return { ok: false, reason: "hash mismatch (record was modified)", seq, hash };
  return { ok: true, record: { seq, ts: r.ts, kind: r.kind, data: r.data, prev: r.prev, hash } };
}

/** SHA-256 of a line's canonical bytes, or null when the line does not end in the writer's hash suffix. */
function computeLineHash(line: Buffer): string | null {
  const cut = line.length - HASH_SUFFIX_BYTES;
  if (cut < 1) return null;
  if (line[line.length - 1] !== 0x7d || line[line.length - 2] !== 0x22) return null; // `"}`
  if (!line.subarray(cut, cut + HASH_SUFFIX_PREFIX.length).equals(HASH_SUFFIX_PREFIX)) return null;
  return crypto.createHash("sha256").update(line.subarray(0, cut)).update(CLOSE_BRACE).digest("hex");
}

/** Where one record sits in the chain relative to the one before it, or why it does not fit. */
export class ChainCheck {
  /** seq and hash of the last record accepted into the chain (0 / GENESIS_HASH before the first). */
  constructor(
    public lastSeq = 0,
    public lastHash = GENESIS_HASH,
  ) {}

  /** The reason `record` cannot follow the last accepted record, or null when it does. Does not advance. */
  breakOf(record: LogRecord): string | null {
    if (record.seq !== this.lastSeq + 1) return `seq ${record.seq} follows ${this.lastSeq}`;
    if (record.prev !== this.lastHash) {
      return this.lastSeq === 0 ? "prev of the first record is not the genesis hash (64 zeros)" : `prev does not match the hash of record ${this.lastSeq}`;
    }
    return null;
  }

  accept(seq: number, hash: string): void {
    this.lastSeq = seq;
    this.lastHash = hash;
  }
}

/** One line as the scanner hands it over. */
export interface ScannedLine {
  /** The line without "\n"; only valid during the callback (the buffer is reused). null when the line is longer than MAX_RECORD_BYTES. */
  bytes: Buffer | null;
  /** Byte offset of the line's first byte in the file. */
  offset: number;
  /** Length in bytes without the "\n". */
  length: number;
  /** 1-based line number. */
  lineNo: number;
  /** Whether the line ends with "\n" (only the last line of a file can lack it). */
  terminated: boolean;
  /** Whether this is the file's last line. */
  last: boolean;
}

const CHUNK_BYTES = 1024 * 1024;

function readAt(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))));
}

/**
 * Streams the lines of bytes [0, end) of `fd` to `visit`, in order, with exact byte offsets. Memory is one
 * 1 MiB chunk plus the longest line (capped at MAX_RECORD_BYTES: longer lines are skipped over and reported
 * with `bytes: null`), never the file. `visit` returns false to stop early.
 */
export async function scanLines(fd: number, end: number, visit: (line: ScannedLine) => boolean | void): Promise<void> {
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let carry: Buffer[] = []; // pieces of a line that started in an earlier chunk
  let carryBytes = 0;
  let oversized = false; // the current line has passed MAX_RECORD_BYTES: only its length is tracked
  let lineStart = 0;
  let lineNo = 1;
  let position = 0;
  while (position < end) {
    const n = await readAt(fd, chunk, 0, Math.min(CHUNK_BYTES, end - position), position);
    if (n === 0) break; // the file shrank under us; treat what we have as the end
    const view = chunk.subarray(0, n);
    let from = 0;
    while (from < n) {
      const nl = view.indexOf(NEWLINE, from);
      const stop = nl === -1 ? n : nl;
      const piece = view.subarray(from, stop);
      if (stop === n) {
        // The line continues in the next chunk (or is the unterminated tail).
        if (!oversized && carryBytes + piece.length > MAX_RECORD_BYTES) {
          oversized = true;
          carry = [];
        }
        if (!oversized) carry.push(Buffer.from(piece));
        carryBytes += piece.length;
        break;
      }
      const length = carryBytes + piece.length;
      let bytes: Buffer | null;
      if (oversized || length > MAX_RECORD_BYTES) bytes = null;
      else bytes = carry.length === 0 ? piece : Buffer.concat([...carry, piece], length);
      const lineEnd = position + stop + 1;
      if (visit({ bytes, offset: lineStart, length, lineNo, terminated: true, last: lineEnd >= end }) === false) return;
      carry = [];
      carryBytes = 0;
      oversized = false;
      lineStart = lineEnd;
      lineNo++;
      from = stop + 1;
    }
    position += n;
  }
  if (carryBytes > 0) {
    const bytes = oversized ? null : Buffer.concat(carry, carryBytes);
    visit({ bytes, offset: lineStart, length: carryBytes, lineNo, terminated: false, last: true });
  }
}
