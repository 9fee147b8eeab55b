import type { Range } from "vscode-languageserver/node";

/** Anything that maps offsets to positions: a TextDocument (UTF-16 offsets, which is what the loaders report). */
export interface PositionSource {
  positionAt(offset: number): { line: number; character: number };
  offsetAt(position: { line: number; character: number }): number;
}

/** A loader error's `offset`/`length` as an LSP range (0-based lines and characters). */
export function rangeOf(doc: PositionSource, offset: number, length: number): Range {
  return { start: doc.positionAt(offset), end: doc.positionAt(offset + Math.max(0, length)) };
}

/** Back from a range (the diagnostic a code action request carries) to offset and length. */
export function spanOf(doc: PositionSource, range: Range): { offset: number; length: number } {
  const offset = doc.offsetAt(range.start);
  return { offset, length: doc.offsetAt(range.end) - offset };
}
