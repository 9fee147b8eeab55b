import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/**
 * Who may talk to the sidecar. Loopback is not a trust boundary: every local process and every web page
 * can reach 127.0.0.1. So: a key on every request, and requests a browser made (an Origin header) or that
 * arrived under a foreign Host name (DNS rebinding) are refused before the key is even looked at.
 */
export type Caller = "agent" | "admin";

export interface Keys {
  apiKey: string;
  adminKey: string;
}

export type AccessVerdict = { ok: true; caller: Caller } | { ok: false; status: 401 | 403; message: string };

export function checkAccess(req: IncomingMessage, keys: Keys, port: number): AccessVerdict {
  const host = req.headers.host;
  if (host === undefined || !isLoopbackHost(host, port)) {
    return { ok: false, status: 403, message: `Host "${host ?? ""}" is not this sidecar (only 127.0.0.1:${port} and localhost:${port})` };
  }
  if (req.headers.origin !== undefined) {
    return { ok: false, status: 403, message: "requests from web pages (with an Origin header) are refused" };
  }
  const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
  if (token === undefined) return { ok: false, status: 401, message: "missing Authorization: Bearer <APIE_API_KEY>" };
  if (sameSecret(token, keys.adminKey)) return { ok: true, caller: "admin" };
  if (sameSecret(token, keys.apiKey)) return { ok: true, caller: "agent" };
  return { ok: false, status: 401, message: "invalid API key" };
}

function isLoopbackHost(host: string, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}` || host === `[::1]:${port}`;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
