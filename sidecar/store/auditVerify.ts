import { close, constants, fstat, open } from "node:fs";
import { ChainCheck, decodeLine, MAX_RECORD_BYTES, scanLines } from "./recordCodec";

export interface BrokenRecord {
  /** 1-based line number in the file. */
  line: number;
  /** The seq the line claims, when it can be read. */
  seq: number | null;
  /** Byte offset of the line's first byte. */
  offset: number;
  /**
   * What is wrong: "not valid JSON", "not a log record (…)", "hash mismatch (record was modified)",
   * "prev does not match the hash of record N", "seq N follows M", "torn last record (no newline)",
   * "record longer than … bytes".
   */
  reason: string;
}

export type VerifyResult =
  | { ok: true; records: number; lastHash: string }
  | { ok: false; /** intact records before the break */ records: number; firstBroken: BrokenRecord };

/**
 * Checks an event log file end to end without changing it: every line is a record in the writer's exact
 * form whose own hash matches its bytes, seq runs 1, 2, 3 … and each prev is the hash of the record before
 * (format: recordCodec.ts). Stops at the first broken record. Streams the file (bounded memory). An empty
 * file is an intact, empty chain. Rejects only on I/O errors (ENOENT for a missing file).
 */
export async function verifyLog(file: string): Promise<VerifyResult> {
  const fd = await new Promise<number>((resolve, reject) => open(file, constants.O_RDONLY, (e, fd) => (e ? reject(e) : resolve(fd))));
  try {
    const size = await new Promise<number>((resolve, reject) => fstat(fd, (e, s) => (e ? reject(e) : resolve(s.size))));
    const chain = new ChainCheck();
    let records = 0;
    let firstBroken: BrokenRecord | undefined;
    await scanLines(fd, size, (line) => {
      const broken = (reason: string, seq: number | null = null) => {
        firstBroken = { line: line.lineNo, seq, offset: line.offset, reason };
        return false;
      };
      if (!line.terminated) return broken("torn last record (no newline)", line.bytes === null ? null : seqOf(line.bytes));
      if (line.bytes === null) return broken(`record longer than ${MAX_RECORD_BYTES} bytes`);
      const decoded = decodeLine(line.bytes);
      if (!decoded.ok) return broken(decoded.reason, decoded.seq);
      const reason = chain.breakOf(decoded.record);
      if (reason !== null) return broken(reason, decoded.record.seq);
      chain.accept(decoded.record.seq, decoded.record.hash);
      records++;
      return true;
    });
    return firstBroken === undefined ? { ok: true, records, lastHash: chain.lastHash } : { ok: false, records, firstBroken };
  } finally {
    await new Promise<void>((resolve) => close(fd, () => resolve()));
  }
}

/** The seq a torn line starts with (`{"seq":N,…`), to name it; null when even that is missing. */
function seqOf(bytes: Buffer): number | null {
  const match = /^\{"seq":(\d{1,15})[,}]/.exec(bytes.subarray(0, 32).toString("latin1"));
  return match === null ? null : Number(match[1]);
}
