import { strict as assert } from "node:assert";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { readHookSettings } from "../../../sidecar/hooks/hookSettings";
import { locateSidecar } from "../../../sidecar/hooks/locate";
import { DiscoverySchema } from "../../../sidecar/protocol/v1";
import { firstUserPrompt } from "../../../sidecar/server/hookTranscript";

/** Finding the sidecar and the policy's hooks section from the payload's cwd; the transcript's first prompt. */

describe("hooks: finding the sidecar and the hooks settings", () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(path.join(os.tmpdir(), "apie-hook-locate-"))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const discovery = { baseUrl: "http://127.0.0.1:4321", apiKey: "apie_a", adminKey: "apie_admin_b", pid: process.pid };

  it("APIE_BASE_URL + APIE_API_KEY win over any discovery file", () => {
    assert.deepEqual(locateSidecar({ APIE_BASE_URL: "http://127.0.0.1:1", APIE_API_KEY: "k" }, root), { ok: true, baseUrl: "http://127.0.0.1:1", key: "k", source: "APIE_BASE_URL" });
    assert.equal(locateSidecar({ APIE_BASE_URL: "http://127.0.0.1:1" }, root).ok, false);
  });

  it("the nearest .apie/sidecar.json at or above cwd, with a live pid; the agent key", () => {
    mkdirSync(path.join(root, ".apie"));
    mkdirSync(path.join(root, "a", "b"), { recursive: true });
    writeFileSync(path.join(root, ".apie", "sidecar.json"), JSON.stringify(discovery));
    assert.ok(DiscoverySchema.safeParse(discovery).success, "the same file the sidecar writes");
    assert.deepEqual(locateSidecar({}, path.join(root, "a", "b")), { ok: true, baseUrl: discovery.baseUrl, key: "apie_a", source: path.join(root, ".apie", "sidecar.json") });
  });

  it("a dead pid in the nearest file means down; a parent workspace's sidecar is not used instead", () => {
    mkdirSync(path.join(root, ".apie"));
    writeFileSync(path.join(root, ".apie", "sidecar.json"), JSON.stringify(discovery));
    mkdirSync(path.join(root, "inner", ".apie"), { recursive: true });
    writeFileSync(path.join(root, "inner", ".apie", "sidecar.json"), JSON.stringify({ ...discovery, pid: 2 ** 22 + 12345 }));
    const found = locateSidecar({}, path.join(root, "inner"));
    assert.equal(found.ok, false);
    assert.match((found as { why: string }).why, /is not running/);
    writeFileSync(path.join(root, "inner", ".apie", "sidecar.json"), "{garbled");
    assert.match((locateSidecar({}, path.join(root, "inner")) as { why: string }).why, /is not JSON/);
    for (const bad of [{ ...discovery, baseUrl: "not a url" }, { ...discovery, pid: -1 }, { ...discovery, pid: 1.5 }, { ...discovery, apiKey: "" }, { ...discovery, pid: "12" }]) {
      writeFileSync(path.join(root, "inner", ".apie", "sidecar.json"), JSON.stringify(bad));
      assert.match((locateSidecar({}, path.join(root, "inner")) as { why: string }).why, /is not a sidecar discovery file/, JSON.stringify(bad));
    }
  });

  it("hooks settings: defaults without a policy; the nearest apie.policy.json (JSONC); a broken one fails closed", () => {
    assert.deepEqual({ ...readHookSettings(root), source: "" }, { failureMode: "fail_open", approvals: "editor", source: "" });
    writeFileSync(path.join(root, "apie.policy.json"), '// comment\n{ "mode": "enforce", "hooks": { "failureMode": "fail_closed", "approvals": "host", }, }');
    mkdirSync(path.join(root, "sub"));
    assert.deepEqual(readHookSettings(path.join(root, "sub")), { failureMode: "fail_closed", approvals: "host", source: path.join(root, "apie.policy.json") });
    writeFileSync(path.join(root, "apie.policy.json"), '{ "hooks": { "failureMode": "sometimes" } }');
    assert.equal(readHookSettings(root).failureMode, "fail_closed");
    writeFileSync(path.join(root, "apie.policy.json"), "{ not json");
    assert.equal(readHookSettings(root).failureMode, "fail_closed");
  });

  it("the transcript's first user prompt: Claude JSONL, Codex rollout, a JSON document; host markup skipped; bounded", async () => {
    const claude = path.join(root, "t.jsonl");
    writeFileSync(
      claude,
      [
        JSON.stringify({ type: "summary" }),
        JSON.stringify({ type: "user", message: { role: "user", content: "<command-name>/clear</command-name>" } }),
        JSON.stringify({ type: "user", message: { role: "user", content: [{ type: "text", text: "  fix the\nfailing test  " }] } }),
      ].join("\n"),
    );
    assert.equal(await firstUserPrompt(claude), "fix the failing test");
    const codex = path.join(root, "rollout.jsonl");
    writeFileSync(codex, [JSON.stringify({ type: "response_item", payload: { type: "message", role: "user", content: [{ type: "input_text", text: "<environment_context>x</environment_context>" }] } }), JSON.stringify({ type: "response_item", payload: { type: "message", role: "user", content: [{ type: "input_text", text: "add a CLI flag" }] } })].join("\n"));
    assert.equal(await firstUserPrompt(codex), "add a CLI flag");
    const doc = path.join(root, "chat.json");
    writeFileSync(doc, JSON.stringify({ messages: [{ role: "user", parts: [{ text: "x".repeat(500) }] }] }));
    assert.equal((await firstUserPrompt(doc))!.length, 120);
    assert.equal(await firstUserPrompt("relative.jsonl"), undefined);
    assert.equal(await firstUserPrompt(root), undefined, "a directory");
    assert.equal(await firstUserPrompt(path.join(root, "missing")), undefined);
  });
});
