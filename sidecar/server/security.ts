import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/**
 * Who may talk to the sidecar. Loopback is not a trust boundary: every local process and every web page
 * can reach 127.0.0.1. So: a key on every request, and requests a browser made (an Origin header) or that
 * arrived under a foreign Host name (DNS rebinding) are refused before the key is even looked at.
 *
 * Two keys, two callers. The agent key (APIE_API_KEY) is shared by every agent the editor started: it is
 * injected into every terminal, so it identifies "an agent on this machine", not which one. The admin key is
 * a human's (the CLI, dashboards; the editor itself talks over its private LSP channel).
 *
 * Isolation between agents sharing the key (issue 11, item 8) rests on two things, not on telling agents
 * apart: (1) an approval's id is the capability — 96 random bits that only the caller of the evaluate that
 * opened it learns, needed to read, wait on, watch, cancel or redeem it, while listing approvals and the
 * stream's `events` topic are the admin key's; /v1/stream pushes an agent-key connection only the approvals
 * opened by its own calls or that it names by id; (2) a grant is bound to everything the human saw (see
 * actionHash), so knowing an id does not let another request spend it.
 *
 * Per-agent tokens minted by the sidecar were considered and not done now. They would let the sidecar name
 * which agent asked, but not make any agent trustworthy: every process in those terminals can read the one
 * bootstrap secret it would mint from (and the Apie SDKs, and hosts' hooks, know one static key), so a token
 * per agent adds a handshake to every client without closing a path the capability model leaves open.
 * The later step, if agents must be told apart (per-agent policy that an agent cannot escape by claiming
 * another agent_key): tokens bound to an agent key at mint, checked against the request's agent_key.
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
