import { strict as assert } from "node:assert";
import {
  CIRCULAR,
  DEFAULT_REDACT_KEYS,
  MAX_REDACT_DEPTH,
  REDACTED,
  TRUNCATED_NOTICE,
  createRedactor,
  redactEvent,
  redactValue,
} from "../../../sidecar/guard/redact";

// Fake credentials assembled from pieces so this file does not look like a leak to scanners.
const BEARER = "Bearer " + "abcDEF123456" + "ghiJKL";
const STRIPE = "sk_" + "live_" + "A1b2C3d4E5f6G7h8";
const JWT = "eyJhbGciOiJIUzI1NiJ9" + "." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0" + "." + "dozjgNryP4J3jVmNHl0w5N";

describe("redact (python-sdk redact_event semantics)", () => {
  it("has the Python SDK's default keys", () => {
    assert.deepEqual([...DEFAULT_REDACT_KEYS], [
      "apiKey", "api_key", "password", "token", "secret", "authorization", "access_token", "refresh_token", "private_key", "client_secret",
    ]);
  });

  it("redacts values under sensitive keys, matching case-insensitively and by substring", () => {
    const event = { type: "t", agentKey: "a", metadata: { Password: "hunter2", db_password: "x", APIKEY: "k", nested: { refresh_token: { deep: 1 } }, safe: "ok" } };
    const out = redactEvent(event);
    assert.deepEqual(out.metadata, { Password: REDACTED, db_password: REDACTED, APIKEY: REDACTED, nested: { refresh_token: REDACTED }, safe: "ok" });
    assert.equal(event.metadata.Password, "hunter2", "the input is not modified");
  });

  it("redacts string values matching the default patterns anywhere in the scrubbed sections", () => {
    const out = redactEvent({ type: "t", agentKey: "a", metadata: { header: BEARER, list: ["fine", STRIPE], jwt: `token is ${JWT}` }, error: { message: `failed with ${BEARER}` } });
    assert.deepEqual(out.metadata, { header: REDACTED, list: ["fine", REDACTED], jwt: REDACTED });
    assert.deepEqual(out.error, { message: REDACTED });
  });

  it("scrubs only the caller-data sections, like Python (metadata, payloadSummary, tool, action, resource, error) plus arguments", () => {
    const out = redactEvent({ type: "t", agentKey: "a", runId: BEARER, tool: { name: "x", token: "t" }, payloadSummary: { secret: 1 }, payload_summary: { secret: 1 }, arguments: { password: "p" }, decision: { token: "kept" } });
    assert.equal(out.runId, BEARER);
    assert.deepEqual(out.tool, { name: "x", token: REDACTED });
    assert.deepEqual(out.payloadSummary, { secret: REDACTED });
    assert.deepEqual(out.payload_summary, { secret: REDACTED });
    assert.deepEqual(out.arguments, { password: REDACTED });
    assert.deepEqual(out.decision, { token: "kept" });
  });

  it("adds caller keys and deny patterns; invalid patterns are skipped", () => {
    const out = redactEvent(
      { type: "t", agentKey: "a", metadata: { ssn: "123", note: "customer 4111-1111-1111-1111", other: "fine" } },
      { redactKeys: ["SSN"], redactDenyPatterns: ["\\d{4}-\\d{4}-\\d{4}-\\d{4}", "(unclosed"] },
    );
    assert.deepEqual(out.metadata, { ssn: REDACTED, note: REDACTED, other: "fine" });
  });

  it("keeps allow paths verbatim, subtree included, case-insensitively", () => {
    const out = redactEvent(
      { type: "t", agentKey: "a", metadata: { token_count: 42, auth: { token: "t", secret: "s" }, items: [{ password: "p" }, { password: "q" }] } },
      { redactAllowPaths: ["metadata.TOKEN_COUNT", "metadata.auth", "metadata.items.1.password"] },
    );
    assert.deepEqual(out.metadata, { token_count: 42, auth: { token: "t", secret: "s" }, items: [{ password: REDACTED }, { password: "q" }] });
  });

  it("replaces an oversized payload with the truncation marker, keeping the envelope", () => {
    const event = { type: "agent.tool.called", agentKey: "a", eventId: "e1", runId: "r1", tool: { name: "x" }, metadata: { blob: "x".repeat(5000) }, decision: { a: 1 } };
    const out: Record<string, unknown> = redactEvent(event, { maxPayloadBytes: 1000 });
    assert.equal(out.type, "agent.tool.called");
    assert.equal(out.eventId, "e1");
    assert.equal(out.runId, "r1");
    assert.deepEqual(Object.keys(out.metadata as object), ["apie_payload_truncated", "apie_payload_bytes", "apie_payload_max_bytes"]);
    assert.equal((out.metadata as { apie_payload_max_bytes: number }).apie_payload_max_bytes, 1000);
    assert.ok((out.metadata as { apie_payload_bytes: number }).apie_payload_bytes > 5000);
    assert.deepEqual(out.payloadSummary, { notice: TRUNCATED_NOTICE });
    assert.equal(out.tool, null);
    assert.equal(out.decision, null);
    assert.deepEqual(redactEvent(event, { maxPayloadBytes: 100_000 }).metadata, event.metadata, "under the limit nothing is truncated");
  });

  it("applies the caller's own transform first", () => {
    const out = redactEvent({ type: "t", agentKey: "a", metadata: { keep: 1 } }, { redact: (e) => ({ ...e, metadata: { injected: BEARER } }) });
    assert.deepEqual(out.metadata, { injected: REDACTED });
  });

  describe("redactValue (tool arguments before logging)", () => {
    it("redacts any JSON value; allow paths are relative to it", () => {
      assert.deepEqual(redactValue({ command: "ls", env: { API_KEY: "k" }, headers: [BEARER] }), { command: "ls", env: { API_KEY: REDACTED }, headers: [REDACTED] });
      assert.equal(redactValue(BEARER), REDACTED);
      assert.equal(redactValue(42), 42);
      assert.deepEqual(redactValue({ token: "t" }, { redactAllowPaths: ["token"] }), { token: "t" });
      assert.deepEqual(redactValue({ token: "t" }, { redactAllowPaths: ["args.token"], path: ["args"] }), { token: "t" });
    });

    it("returns the truncation marker for an oversized value", () => {
      assert.deepEqual(redactValue({ data: "y".repeat(3000) }, { maxPayloadBytes: 1024 }), {
        apie_payload_truncated: true,
        apie_payload_bytes: 3011,
        apie_payload_max_bytes: 1024,
      });
    });

    it("never hangs on cycles and never passes too-deep nesting through unscanned", () => {
      const cyclic: Record<string, unknown> = { name: "a" };
      cyclic.self = cyclic;
      assert.deepEqual(redactValue(cyclic), { name: "a", self: CIRCULAR });
      let deep: unknown = { password: "p" };
      for (let i = 0; i < MAX_REDACT_DEPTH + 5; i++) deep = { next: deep };
      assert.ok(!JSON.stringify(redactValue(deep)).includes('"p"'));
    });

    it("redacts objects in their JSON form (toJSON)", () => {
      const when = new Date("2026-01-02T03:04:05.000Z");
      assert.deepEqual(redactValue({ when, creds: { toJSON: () => ({ password: "p" }) } }), { when: "2026-01-02T03:04:05.000Z", creds: { password: REDACTED } });
    });
  });

  it("a compiled redactor gives the same answers as the one-shot functions", () => {
    const options = { redactKeys: ["ssn"], redactDenyPatterns: ["^secret-"] };
    const redactor = createRedactor(options);
    const event = { type: "t", agentKey: "a", metadata: { ssn: 1, v: "secret-1", w: "public" } };
    assert.deepEqual(redactor.redactEvent(event), redactEvent(event, options));
    assert.deepEqual(redactor.redactValue(event.metadata), redactValue(event.metadata, options));
  });
});
