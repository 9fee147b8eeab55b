import type {
  JSONRPCErrorResponse,
  JSONRPCMessage,
  JSONRPCNotification,
  JSONRPCRequest,
  JSONRPCResultResponse,
  ProgressToken,
  RequestId,
} from "@modelcontextprotocol/sdk/types.js";

/**
 * Cheap structural tests on messages the transports already parsed with the SDK's `JSONRPCMessageSchema`
 * (no second zod pass on the hot path), and the few messages the proxy writes itself.
 */

export type { JSONRPCMessage, JSONRPCRequest, JSONRPCNotification, RequestId, ProgressToken };
export type JSONRPCResponse = JSONRPCResultResponse | JSONRPCErrorResponse;

/** JSON-RPC error codes the proxy answers with. */
export const ErrorCodes = {
  /** Not JSON (a line on stdio that does not parse). */
  parseError: -32700,
  /** JSON, but not a JSON-RPC message. */
  invalidRequest: -32600,
  /** The proxy could not get an answer: upstream gone, guard failed under `throw`. */
  internalError: -32603,
  /** Apie: a guardrail blocked the tool call (or the guard was unavailable under `fail_closed`). */
  guardrailBlocked: -32001,
  /** Apie: the call needed a human's approval and did not get it. */
  approvalRequired: -32002,
} as const;

export function isRequest(message: JSONRPCMessage): message is JSONRPCRequest {
  return "method" in message && "id" in message;
}

export function isNotification(message: JSONRPCMessage): message is JSONRPCNotification {
  return "method" in message && !("id" in message);
}

export function isResponse(message: JSONRPCMessage): message is JSONRPCResponse {
  return !("method" in message) && ("result" in message || "error" in message);
}

/** `params._meta.progressToken` of a request, if it asked for progress. */
export function progressTokenOf(request: JSONRPCRequest): ProgressToken | undefined {
  const token = request.params?._meta?.progressToken;
  return typeof token === "string" || typeof token === "number" ? token : undefined;
}

export function errorResponse(id: RequestId, code: number, message: string, data?: unknown): JSONRPCErrorResponse {
  return { jsonrpc: "2.0", id, error: data === undefined ? { code, message } : { code, message, data } };
}

/**
 * An error about a message whose id could not be read (parse error, invalid request): JSON-RPC 2.0 says
 * `"id": null`. The SDK's types have no null id, hence the cast; the transports serialize it as is.
 */
export function errorWithoutId(code: number, message: string, data?: unknown): JSONRPCMessage {
  return { jsonrpc: "2.0", id: null, error: data === undefined ? { code, message } : { code, message, data } } as unknown as JSONRPCMessage;
}

export function progressNotification(progressToken: ProgressToken, progress: number, message: string): JSONRPCNotification {
  return { jsonrpc: "2.0", method: "notifications/progress", params: { progressToken, progress, message } };
}
