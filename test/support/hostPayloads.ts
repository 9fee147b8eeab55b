import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

/**
 * The hook payloads Claude Code and Codex were OBSERVED to send (Claude Code 2.1.332, Codex 0.171.0; recorded
 * in test/fixtures/hooks/), as zod schemas: the agent-host tests check every payload a real CLI hands a hook
 * against them, so a CLI update that changes the shape fails here first. Strict where the adapter relies on a
 * field, loose elsewhere (hosts add fields).
 */
const Common = {
  session_id: z.string().min(1),
  transcript_path: z.string().nullable(),
  cwd: z.string().startsWith("/"),
  permission_mode: z.string(),
  tool_name: z.string().min(1),
  tool_input: z.record(z.string(), z.unknown()),
  tool_use_id: z.string().min(1),
};

export const ClaudePreToolUseSchema = z.looseObject({ ...Common, hook_event_name: z.literal("PreToolUse"), prompt_id: z.string().optional() });
export const ClaudePostToolUseSchema = z.looseObject({
  ...Common,
  hook_event_name: z.literal("PostToolUse"),
  tool_response: z.unknown(),
  duration_ms: z.number().optional(),
});

export const CodexPreToolUseSchema = z.looseObject({ ...Common, hook_event_name: z.literal("PreToolUse"), turn_id: z.string().min(1), model: z.string() });
export const CodexPostToolUseSchema = z.looseObject({
  ...Common,
  hook_event_name: z.literal("PostToolUse"),
  turn_id: z.string().min(1),
  model: z.string(),
  tool_response: z.unknown(),
});

/** The payloads test/hosts/recordingHook.sh saved in `dir`, oldest first. */
export function recordedPayloads(dir: string): Array<Record<string, unknown>> {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort((a, b) => {
      const [ta, tb] = [BigInt(a.split("-")[0]!), BigInt(b.split("-")[0]!)];
      return ta < tb ? -1 : ta > tb ? 1 : 0;
    })
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), "utf8")) as Record<string, unknown>);
}
