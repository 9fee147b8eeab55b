import { seededRandom } from "./seededRandom";

/**
 * Hostile requests for the v1 API, from a seed: the same seed gives the same requests, so a failure found by
 * the fuzz test or the hostile-load bench can be replayed. Each request is what an attacker holding the agent
 * key (or no key) could send: real routes with mutated bodies, deep nesting, wrong types, huge strings,
 * invalid JSON, bad percent-escapes in ids, unknown routes. None of them may crash the sidecar or get a 5xx.
 */

export interface HostileRequest {
  method: "GET" | "POST";
  /** Path and query. */
  path: string;
  /** Raw body text (POST); may be invalid JSON on purpose. */
  body?: string;
  /** Which key to present: the agent key, none, or a wrong one (never the admin key: no policy changes). */
  key: "agent" | "none" | "wrong";
}

/** `[` × depth + `]` × depth, or the same with objects: deep nesting without building it in memory. */
export function nestedText(depth: number, kind: "array" | "object" = "array"): string {
  return kind === "array" ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
}

const IDS = ["%", "%E0%A4%A", "%ZZ", "%00", "..%2F..%2Fetc", "a".repeat(5_000), "run_1", "apr_x", "😀", "%F0%9F"];

/** Every route of the v1 API, `{}` standing for an id. */
const ROUTES: readonly [HostileRequest["method"], string][] = [
  ["GET", "/v1/health"],
  ["POST", "/v1/guardrails/evaluate"],
  ["GET", "/v1/guardrails/snapshot"],
  ["POST", "/v1/guardrails/decisions"],
  ["POST", "/v1/guardrails/templates/{}/enable"],
  ["GET", "/v1/mode"],
  ["POST", "/v1/agents/identify"],
  ["POST", "/v1/agents/{}/capabilities/declare"],
  ["POST", "/v1/agents/{}/tools/define"],
  ["GET", "/v1/approvals/{}"],
  ["GET", "/v1/approvals/{}/wait?timeout=1"],
  ["POST", "/v1/approvals/{}/cancel"],
  ["POST", "/v1/events"],
  ["POST", "/v1/events/validate"],
  ["POST", "/v1/runs"],
  ["GET", "/v1/runs/{}"],
  ["POST", "/v1/runs/{}/complete"],
  ["POST", "/v1/sessions"],
  ["POST", "/v1/sessions/{}/complete"],
  ["POST", "/v1/sessions/{}/runs"],
  ["POST", "/v1/sessions/{}/handoffs"],
  ["GET", "/v1/boundary-reports/{}"],
  ["GET", "/v1/nowhere/{}"],
];

/** Bodies shaped like the real ones, so mutations reach past the first schema check. */
const SHAPES: Record<string, () => Record<string, unknown>> = {
  "/v1/guardrails/evaluate": () => ({
    agent_key: "fuzz",
    mode: "enforce",
    tool: { name: "deploy.release", provider: "cicd", riskLevel: "high" },
    action: { type: "execute", name: "deploy.release" },
    resource: { type: "deployment_event", environment: "production" },
    arguments: { version: "1.0.0" },
  }),
  "/v1/agents/identify": () => ({ agent_key: "fuzz", name: "Fuzz", metadata: {} }),
  "/v1/events": () => ({ events: [{ type: "note", agent_key: "fuzz", metadata: { text: "x" } }] }),
  "/v1/events/validate": () => ({ events: [{ type: "note", agent_key: "fuzz" }] }),
  "/v1/runs": () => ({ agent_key: "fuzz", name: "run" }),
  "/v1/sessions": () => ({ agent_key: "fuzz", name: "session" }),
  "/v1/guardrails/decisions": () => ({ decisions: [{ decision_id: "dec_fuzz", body: { agent_key: "fuzz", tool: { name: "t" } } }] }),
};

export function* hostileRequests(seed: number, count: number, options: { maxDepth?: number } = {}): Generator<HostileRequest> {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const maxDepth = options.maxDepth ?? 100_000;
  const depth = () => pick([2, 50, 65, 129, 1_000, 3_000, 10_000, maxDepth].filter((d) => d <= maxDepth));

  const scalar = (): unknown => pick<() => unknown>([() => null, () => true, () => random() * 1e6, () => -0, () => "x".repeat(Math.floor(random() * 64)), () => "\u0000\ud800", () => "__proto__"])();
  const value = (level: number): unknown => {
    if (level > 4 || random() < 0.4) return scalar();
    if (random() < 0.5) return Array.from({ length: Math.floor(random() * 4) }, () => value(level + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, () => [pick(["a", "arguments", "metadata", "__proto__", "constructor", "type", "id"]), value(level + 1)]));
  };

  /** A body as text: a mutated real shape, with deep nesting spliced in where a text marker sits. */
  const body = (route: string): string => {
    const shape = SHAPES[route]?.() ?? {};
    const marker = "\u0001DEEP\u0001";
    switch (Math.floor(random() * 7)) {
      case 0: // deep nesting in a field the route reads, or an extra one it does not know
        shape[pick(["arguments", "metadata", "extra", "tool", "events", "decisions"])] = marker;
        return JSON.stringify(shape).replace(JSON.stringify(marker), nestedText(depth(), random() < 0.5 ? "array" : "object"));
      case 1: // a field of the wrong type, or a random value
        shape[pick(Object.keys(shape).concat("mode", "agent_key"))] = value(0);
        return JSON.stringify(shape);
      case 2: // the whole body deeply nested
        return nestedText(depth(), random() < 0.5 ? "array" : "object");
      case 3: // not JSON at all
        return pick(["{", "}", "[1,", "nul", '{"a":1}{"b":2}', "\u0000", '"\\ud800"', "1e400", "{\"a\":" + "9".repeat(1_000) + "}"]);
      case 4: // a big string somewhere
        shape[pick(["metadata", "name", "agent_key"])] = "s".repeat(Math.floor(random() * 200_000));
        return JSON.stringify(shape);
      case 5: // many members
        return JSON.stringify({ ...shape, ...Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`k${i}`, i])) });
      default:
        return JSON.stringify(value(0));
    }
  };

  for (let i = 0; i < count; i++) {
    const [method, template] = pick(ROUTES);
    const route = template.split("?")[0]!;
    const path = template.replace("{}", pick(IDS));
    const key = random() < 0.9 ? "agent" : pick(["none", "wrong"] as const);
    yield method === "POST" ? { method, path, body: body(route), key } : { method, path, key };
  }
}
