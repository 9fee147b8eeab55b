import WebSocket from "ws";
import { waitFor, type SidecarUnderTest } from "./sidecarProcess";

/** A raw `/v1/stream` client: `call()` sends a call frame and resolves with its reply frame. */
export async function openCalls(sidecar: SidecarUnderTest, key = sidecar.discovery.apiKey) {
  const ws = new WebSocket(sidecar.discovery.baseUrl.replace("http", "ws") + "/v1/stream", { headers: { authorization: `Bearer ${key}` } });
  const frames: any[] = [];
  const replies = new Map<unknown, any>();
  ws.on("message", (d) => {
    const frame = JSON.parse(d.toString());
    frames.push(frame);
    if (frame.type === "reply") replies.set(frame.id, frame);
  });
  await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
  const replyTo = async (id: unknown) => {
    await waitFor(() => replies.has(id));
    return replies.get(id);
  };
  return {
    ws,
    frames,
    replies,
    replyTo,
    send: (frame: unknown) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
    call: (id: unknown, method: string, urlPath: string, body?: unknown) => {
      ws.send(JSON.stringify({ type: "call", id, method, path: urlPath, ...(body === undefined ? {} : { body }) }));
      return replyTo(id);
    },
  };
}
