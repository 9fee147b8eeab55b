import { z } from "zod";
import { sendJson, sendSse, startScriptedServer, type RecordedRequest, type ScriptedServer } from "./scriptedModelServer";

/**
 * A scripted OpenAI Responses API on 127.0.0.1 for the real Codex CLI (a custom model provider with
 * `wire_api = "responses"`): the only stand-in of the Codex end-to-end tests. `POST /v1/responses` is validated
 * with zod and answered by the test's script as the SSE stream Codex reads (response.created, one
 * response.output_item.done per item, response.completed). `GET /v1/models` answers an empty list. Every
 * request is recorded.
 */
const InputItem = z.looseObject({ type: z.string().optional() });
export const ResponsesRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.array(InputItem),
  stream: z.boolean().optional(),
  tools: z.array(z.looseObject({ type: z.string() })).optional(),
});
export type ResponsesRequest = z.infer<typeof ResponsesRequestSchema>;

/**
 * One model turn: some text, optionally ending with one tool call: a function call (arguments as an object,
 * e.g. `exec_command`) or a custom (freeform) tool call (raw text input, e.g. Codex's `apply_patch`).
 */
export interface ResponsesTurn {
  text?: string;
  functionCall?: { name: string; arguments: Record<string, unknown> };
  customCall?: { name: string; input: string };
}

export interface ScriptedResponses extends ScriptedServer {
  /** The validated `POST /v1/responses` requests, in arrival order. */
  responses(): ResponsesRequest[];
}

export async function startScriptedResponses(script: (req: ResponsesRequest) => ResponsesTurn): Promise<ScriptedResponses> {
  let turn = 0;
  const server = await startScriptedServer((path, method) => {
    if (method === "GET" && path === "/v1/models") return (_req, res) => sendJson(res, 200, { object: "list", data: [], models: [] });
    if (method !== "POST" || path !== "/v1/responses") return undefined;
    return (req, res) => {
      const parsed = ResponsesRequestSchema.safeParse(req.body);
      if (!parsed.success) throw new Error(`bad /v1/responses request: ${z.prettifyError(parsed.error)}`);
      const reply = script(parsed.data);
      turn += 1;
      const id = `resp_scripted_${turn}`;
      const items: unknown[] = [];
      if (reply.text !== undefined || (!reply.functionCall && !reply.customCall)) {
        items.push({ type: "message", role: "assistant", id: `msg_scripted_${turn}`, content: [{ type: "output_text", text: reply.text ?? "", annotations: [] }] });
      }
      if (reply.functionCall) {
        items.push({ type: "function_call", id: `fc_scripted_${turn}`, call_id: `call_scripted_${turn}`, name: reply.functionCall.name, arguments: JSON.stringify(reply.functionCall.arguments) });
      }
      if (reply.customCall) {
        items.push({ type: "custom_tool_call", id: `ctc_scripted_${turn}`, call_id: `call_scripted_${turn}`, name: reply.customCall.name, input: reply.customCall.input });
      }
      sendSse(res, [
        { event: "response.created", data: { type: "response.created", response: { id } } },
        ...items.map((item, output_index) => ({ event: "response.output_item.done", data: { type: "response.output_item.done", output_index, item } })),
        { event: "response.completed", data: { type: "response.completed", response: { id, usage: USAGE } } },
      ]);
    };
  });
  return {
    ...server,
    responses: () => server.requests.filter(isResponses).map((r) => ResponsesRequestSchema.parse(r.body)),
  };
}

const USAGE = { input_tokens: 100, input_tokens_details: { cached_tokens: 0 }, output_tokens: 10, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 110 };

function isResponses(r: RecordedRequest): boolean {
  return r.method === "POST" && r.path === "/v1/responses" && ResponsesRequestSchema.safeParse(r.body).success;
}

/** The function_call_output / custom_tool_call_output items of a request: what Codex reports back after a tool. */
export function functionOutputs(req: ResponsesRequest): Array<{ call_id: string; output: string }> {
  return req.input
    .filter((i) => i.type === "function_call_output" || i.type === "custom_tool_call_output")
    .map((i) => ({ call_id: String(i.call_id), output: typeof i.output === "string" ? i.output : JSON.stringify(i.output) }));
}
