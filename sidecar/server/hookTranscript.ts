import { open } from "node:fs/promises";
import path from "node:path";

/**
 * The first thing the user asked in a coding agent's session, read from the host's transcript for the Runs
 * view ("Claude Code · fix the failing test"). Best effort and bounded: only an absolute path to a regular
 * file, only its first READ_BYTES, JSON lines (Claude Code, Codex) or one JSON document (VS Code, Gemini CLI)
 * searched for the first user message with text that is not a host's own markup (`<command-name>…`,
 * `<environment_context>…`). Anything else — missing, unreadable, not yet written (Claude writes the
 * transcript asynchronously), no such message — is undefined, and the session is named after its cwd.
 *
 * The path comes from the hook payload, which the agent's host wrote; the sidecar runs as the same user and
 * only ever keeps SUMMARY_CHARS of one message from it, shown to that user.
 */

const READ_BYTES = 256 * 1024;
const SUMMARY_CHARS = 120;
const MAX_LINES = 2_000;

export async function firstUserPrompt(transcriptPath: string | undefined): Promise<string | undefined> {
  if (transcriptPath === undefined || !path.isAbsolute(transcriptPath)) return undefined;
  let text: string;
  try {
    const handle = await open(transcriptPath, "r");
    try {
      if (!(await handle.stat()).isFile()) return undefined;
      const buffer = Buffer.alloc(READ_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, 0);
      text = buffer.subarray(0, bytesRead).toString("utf8");
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
  const documents = parseAll(text);
  for (const doc of documents) {
    const found = userText(doc);
    if (found !== undefined) return summary(found);
  }
  return undefined;
}

/** One JSON document, or JSON lines (a line cut off by the read limit is skipped). */
function parseAll(text: string): unknown[] {
  try {
    const whole = JSON.parse(text) as unknown;
    if (Array.isArray(whole)) return whole;
    const messages = (whole as { messages?: unknown; requests?: unknown })?.messages ?? (whole as { requests?: unknown })?.requests;
    return Array.isArray(messages) ? messages : [whole];
  } catch {
    return text
      .split("\n", MAX_LINES)
      .map((line) => {
        try {
          return JSON.parse(line) as unknown;
        } catch {
          return undefined;
        }
      })
      .filter((v) => v !== undefined);
  }
}

/** The text of a user message in the shapes hosts write: `{type:"user", message:{content}}` (Claude), `{payload:{role:"user", content:[{text}]}}` (Codex), `{role:"user", content|parts}`. */
function userText(entry: unknown): string | undefined {
  if (entry === null || typeof entry !== "object") return undefined;
  const e = entry as Record<string, unknown>;
  for (const candidate of [e, e.message, e.payload]) {
    if (candidate === null || typeof candidate !== "object") continue;
    const c = candidate as Record<string, unknown>;
    if (c.role !== "user" && c.type !== "user") continue;
    const text = textOf(c.content ?? c.parts ?? c.text ?? (c.message as Record<string, unknown> | undefined)?.content);
    if (text !== undefined) return text;
  }
  return undefined;
}

function textOf(content: unknown): string | undefined {
  const texts = typeof content === "string" ? [content] : Array.isArray(content) ? content.map((p) => (typeof p === "string" ? p : (p as { text?: unknown })?.text)) : [];
  for (const t of texts) {
    if (typeof t !== "string") continue;
    const trimmed = t.trim();
    if (trimmed !== "" && !trimmed.startsWith("<")) return trimmed;
  }
  return undefined;
}

function summary(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > SUMMARY_CHARS ? `${flat.slice(0, SUMMARY_CHARS - 1)}…` : flat;
}
