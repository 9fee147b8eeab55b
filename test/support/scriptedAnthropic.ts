import { z } from "zod";
import { sendJson, sendSse, startScriptedServer, type RecordedRequest, type ScriptedServer } from "./scriptedModelServer";

/**
 * A scripted Anthropic Messages API on 127.0.0.1 for the real Claude Code CLI (ANTHROPIC_BASE_URL): the only
 * stand-in of the Claude Code end-to-end tests. `POST /v1/messages` is validated with zod and answered by the
 * test's script, streamed as SSE when the CLI asks for a stream (it does for the agent loop) and as one JSON
 * message otherwise. `POST /v1/messages/count_tokens` answers a fixed count. Every request is recorded.
 */
const ContentBlock = z.looseObject({ type: z.string() });
const Message = z.looseObject({
  // Claude Code 2.1.3xx also sends `system` messages inside `messages` (environment notes after the prompt).
  role: z.enum(["user", "assistant", "system"]),
  content: z.union([z.string(), z.array(ContentBlock)]),
});
export const MessagesRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(Message).min(1),
  stream: z.boolean().optional(),
  tools: z.array(z.looseObject({ name: z.string() })).optional(),
});
export type MessagesRequest = z.infer<typeof MessagesRequestSchema>;

/** One assistant turn: some text, optionally ending with one tool call. */
export interface AssistantTurn {
  text?: string;
  toolUse?: { name: string; input: Record<string, unknown> };
}

export interface ScriptedAnthropic extends ScriptedServer {
  /** The validated `POST /v1/messages` requests, in arrival order. */
  messages(): MessagesRequest[];
}

export async function startScriptedAnthropic(script: (req: MessagesRequest) => AssistantTurn): Promise<ScriptedAnthropic> {
  let turn = 0;
  const server = await startScriptedServer((path, method) => {
    if (method !== "POST") return undefined;
    if (path === "/v1/messages/count_tokens") return (_req, res) => sendJson(res, 200, { input_tokens: 100 });
    if (path !== "/v1/messages") return undefined;
    return (req, res) => {
      const parsed = MessagesRequestSchema.safeParse(req.body);
      if (!parsed.success) throw new Error(`bad /v1/messages request: ${z.prettifyError(parsed.error)}`);
      const reply = script(parsed.data);
      turn += 1;
      const id = `msg_scripted_${turn}`;
      const content = blocks(reply, turn);
      const stopReason = reply.toolUse ? "tool_use" : "end_turn";
      if (parsed.data.stream) sendSse(res, streamEvents(id, parsed.data.model, content, stopReason));
      else sendJson(res, 200, { id, type: "message", role: "assistant", model: parsed.data.model, content, stop_reason: stopReason, stop_sequence: null, usage: USAGE });
    };
  });
  return {
    ...server,
    messages: () => server.requests.filter(isMessages).map((r) => MessagesRequestSchema.parse(r.body)),
  };
}

function isMessages(r: RecordedRequest): boolean {
  return r.method === "POST" && r.path === "/v1/messages" && MessagesRequestSchema.safeParse(r.body).success;
}

const USAGE = { input_tokens: 100, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };

type Block = { type: "text"; text: string } | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

function blocks(reply: AssistantTurn, turn: number): Block[] {
  const out: Block[] = [];
  if (reply.text !== undefined || !reply.toolUse) out.push({ type: "text", text: reply.text ?? "" });
  if (reply.toolUse) out.push({ type: "tool_use", id: `toolu_scripted_${turn}`, name: reply.toolUse.name, input: reply.toolUse.input });
  return out;
}

/** The Messages streaming protocol: message_start, per block start/delta/stop, message_delta, message_stop. */
function streamEvents(id: string, model: string, content: Block[], stopReason: string): Array<{ event: string; data: unknown }> {
  const events: Array<{ event: string; data: unknown }> = [
    { event: "message_start", data: { type: "message_start", message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: { ...USAGE, output_tokens: 1 } } } },
  ];
  content.forEach((block, index) => {
    if (block.type === "text") {
      events.push({ event: "content_block_start", data: { type: "content_block_start", index, content_block: { type: "text", text: "" } } });
      events.push({ event: "content_block_delta", data: { type: "content_block_delta", index, delta: { type: "text_delta", text: block.text } } });
    } else {
      events.push({ event: "content_block_start", data: { type: "content_block_start", index, content_block: { type: "tool_use", id: block.id, name: block.name, input: {} } } });
      events.push({ event: "content_block_delta", data: { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: JSON.stringify(block.input) } } });
    }
    events.push({ event: "content_block_stop", data: { type: "content_block_stop", index } });
  });
  events.push({ event: "message_delta", data: { type: "message_delta", delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: 10 } } });
  events.push({ event: "message_stop", data: { type: "message_stop" } });
  return events;
}

/** The tool_result blocks of a request's last user message (what the CLI reports back after a tool call). */
export function lastToolResults(req: MessagesRequest): Array<{ tool_use_id: string; content: string; is_error: boolean }> {
  const last = [...req.messages].reverse().find((m) => m.role === "user");
  if (!last || typeof last.content === "string") return [];
  return last.content
    .filter((b) => b.type === "tool_result")
    .map((b) => ({ tool_use_id: String(b.tool_use_id), content: flattenContent(b.content), is_error: b.is_error === true }));
}

/** How many tool_result blocks the whole conversation holds: how many tool calls the CLI has answered so far. */
export function toolResultCount(req: MessagesRequest): number {
  return req.messages.filter((m) => m.role === "user" && Array.isArray(m.content)).flatMap((m) => m.content as Array<{ type: string }>).filter((b) => b.type === "tool_result").length;
}

function flattenContent(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((c) => (c && typeof c === "object" && "text" in c ? String(c.text) : "")).join("\n");
  return "";
}
