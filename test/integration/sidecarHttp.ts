import { request, type IncomingHttpHeaders } from "node:http";
import type { SidecarUnderTest } from "./sidecarProcess";

export interface Reply {
  status: number;
  body: any;
  headers: IncomingHttpHeaders;
}

/** A raw HTTP call (node:http), so tests control every header, including Host and Origin. */
export function call(sidecar: SidecarUnderTest, method: string, urlPath: string, options: { key?: string | null; body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const url = new URL(urlPath, sidecar.discovery.baseUrl);
  const key = options.key === undefined ? sidecar.discovery.apiKey : options.key;
  const headers: Record<string, string> = { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}), ...options.headers };
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined, headers: res.headers }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

