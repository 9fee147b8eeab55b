import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { MAX_NESTING_DEPTH, MAX_PARSE_DEPTH } from "../../sidecar/protocol/v1";
import { ApieError, type ApieOptions } from "../../sidecar/sdk";
import { canonicalJson } from "../../sidecar/store/canonical";
import { cleanEnv, CRASHING, logRecords, RawMcp, sidecarEnv, writeJson } from "./mcpProxyHarness";
import { call } from "./sidecarHttp";
import { CLI, startSidecarProcess, waitFor, type SidecarUnderTest } from "./sidecarProcess";
import { SdkClients } from "./sdkClients";
import { close, startStandIn } from "../support/standInServer";

/**
 * Issue 11 items 1 and 10 (first half) against a real sidecar process: request bodies nested far past
 * MAX_NESTING_DEPTH on every POST route, over HTTP and as /v1/stream call frames; malformed percent-escapes
 * in every id route; the issue's attack end to end with the real SDK; and the MCP proxy with deeply nested
 * tool arguments. Deterministic: fixed depths, no randomness, no timing assertions.
 */

/** How many `request-too-deep` decisions of `agentKey` the sidecar journaled as timeline events. */
function refusalsRecorded(workspace: string, agentKey: string): number {
  return logRecords(workspace).filter((r) => {
    const event = r.kind === "event" ? r.data.event : undefined;
    if (event?.type !== "agent.guardrail.evaluated" || event.agent_key !== agentKey) return false;
    return event.decision?.matchedGuardrails?.some((g: { key: string }) => g.key === "request-too-deep") === true;
  }).length;
}

/** Depths tried: a little over the limit, exactly one over, where the old hash overflowed, and far past. */
const DEPTHS = [100, MAX_NESTING_DEPTH + 1, 3_000, 100_000];

/**
 * JSON text of `levels` nested objects (or arrays) around a string: built as text, because JSON.stringify
 * itself overflows a few thousand levels down. As a top-level member of a body, its innermost container sits
 * at level `levels`.
 */
function deepJson(levels: number, kind: "object" | "array"): string {
  return kind === "object" ? `${'{"a":'.repeat(levels)}"bottom"${"}".repeat(levels)}` : `${"[".repeat(levels)}"bottom"${"]".repeat(levels)}`;
}

const EVALUATE = "/v1/guardrails/evaluate";
const deployBody = (args: string) =>
  `{"agent_key":"release-gate","mode":"enforce","tool":{"name":"deploy.release","provider":"cicd"},"resource":{"type":"deployment_event","environment":"production"},"arguments":${args}}`;

/** Every POST route of the v1 API with a body carrying the deep value where a client could put it. */
const POST_ROUTES: [string, (deep: string) => string][] = [
  [EVALUATE, deployBody],
  ["/v1/guardrails/decisions", (d) => `{"decisions":[{"decision_id":"dec_deep","body":{"agent_key":"a","arguments":${d}}}]}`],
  ["/v1/guardrails/templates/prod-shell/enable", (d) => `{"options":${d}}`],
  ["/v1/mode", (d) => `{"mode":"monitor","why":${d}}`],
  ["/v1/agents/identify", (d) => `{"agent":{"key":"deep-agent","extra":${d}}}`],
  ["/v1/agents/agt_x/capabilities/declare", (d) => `{"capabilities":[{"tool":{"name":"t"},"extra":${d}}]}`],
  ["/v1/agents/agt_x/tools/define", (d) => `{"name":"t","inputSchema":${d}}`],
  ["/v1/agents/agt_x/boundary-reports", (d) => `{"filters":${d}}`],
  ["/v1/boundary-reports", (d) => `{"agent_key":"a","filters":${d}}`],
  ["/v1/events", (d) => `{"events":[{"type":"note","agent_key":"a","metadata":${d}}]}`],
  ["/v1/events/validate", (d) => `{"events":[{"type":"note","agent_key":"a","metadata":${d}}]}`],
  ["/v1/runs", (d) => `{"agent_key":"a","metadata":${d}}`],
  ["/v1/runs/run_x/complete", (d) => `{"status":"completed","output_summary":${d}}`],
  ["/v1/sessions", (d) => `{"metadata":${d}}`],
  ["/v1/sessions/ses_x/complete", (d) => `{"status":"completed","output_summary":${d}}`],
  ["/v1/sessions/ses_x/runs", (d) => `{"agent_key":"a","metadata":${d}}`],
  ["/v1/sessions/ses_x/handoffs", (d) => `{"reason":"r","metadata":${d}}`],
  ["/v1/approvals/apr_x/approve", (d) => `{"reason":${d}}`],
  ["/v1/approvals/apr_x/reject", (d) => `{"reason":${d}}`],
  ["/v1/approvals/apr_x/cancel", (d) => `{"reason":${d}}`],
];

/** Every route with an id in its path (GET and POST); `%ID%` is where the id goes. */
const ID_ROUTES: [string, string][] = [
  ["GET", "/v1/runs/%ID%"],
  ["POST", "/v1/runs/%ID%/complete"],
  ["POST", "/v1/sessions/%ID%/complete"],
  ["POST", "/v1/sessions/%ID%/runs"],
  ["POST", "/v1/sessions/%ID%/handoffs"],
  ["GET", "/v1/approvals/%ID%"],
  ["GET", "/v1/approvals/%ID%/wait"],
  ["POST", "/v1/approvals/%ID%/approve"],
  ["POST", "/v1/approvals/%ID%/reject"],
  ["POST", "/v1/approvals/%ID%/cancel"],
  ["POST", "/v1/agents/%ID%/capabilities/declare"],
  ["POST", "/v1/agents/%ID%/tools/define"],
  ["POST", "/v1/agents/%ID%/boundary-reports"],
  ["GET", "/v1/boundary-reports/%ID%"],
  ["POST", "/v1/guardrails/templates/%ID%/enable"],
];
const BAD_ESCAPES = ["%", "%E0%A4%A", "%zz", "abc%C3%28", "%ED%A0%80"];

/** A raw /v1/stream connection: `call` sends a call frame as text (any depth) and resolves with its reply. */
async function openStream(sidecar: SidecarUnderTest, key: string) {
  const ws = new WebSocket(`${sidecar.discovery.baseUrl.replace("http", "ws")}/v1/stream`, { headers: { authorization: `Bearer ${key}` } });
  const replies = new Map<unknown, any>();
  ws.on("message", (data) => {
    const frame = JSON.parse(data.toString());
    if (frame.type === "reply") replies.set(frame.id, frame);
  });
  await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
  let next = 0;
  return {
    close: () => ws.close(),
    async call(method: string, urlPath: string, bodyText?: string): Promise<{ status: number; body: any }> {
      const id = ++next;
      ws.send(`{"type":"call","id":${id},"method":${JSON.stringify(method)},"path":${JSON.stringify(urlPath)}${bodyText === undefined ? "" : `,"body":${bodyText}`}}`);
      await waitFor(() => replies.has(id), 20_000);
      return replies.get(id);
    },
  };
}

function auditVerify(workspace: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, "audit", "verify", "--state-dir", path.join(workspace, ".apie")], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("hostile input: deep nesting and bad escapes (real sidecar process)", function () {
  this.timeout(120_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;

  beforeEach(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-hostile-"));
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-deploys": true } }));
    sidecar = await startSidecarProcess(workspace);
  });
  afterEach(async () => {
    await sidecar.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  it("every POST route answers a body nested 100, limit+1, 3 000 and 100 000 levels with a JSON 400 (evaluate: a block decision up to MAX_PARSE_DEPTH, a 400 refused before parsing past it), over HTTP and the stream; the sidecar stays up and the log verifies", async () => {
    const admin = sidecar.discovery.adminKey;
    const stream = await openStream(sidecar, admin);
    /** The deep value of each too-deep evaluate, in the order they were decided (and journaled). */
    const evaluated: string[] = [];
    for (const [i, levels] of DEPTHS.entries()) {
      const deep = deepJson(levels, i % 2 === 0 ? "object" : "array");
      for (const [route, body] of POST_ROUTES) {
        const answers = {
          http: await call(sidecar, "POST", route, { key: admin, body: body(deep) }),
          stream: await stream.call("POST", route, body(deep)),
        };
        for (const [via, answer] of Object.entries(answers)) {
          const what = `${via} POST ${route} nested ${levels}`;
          if (levels > MAX_PARSE_DEPTH) {
            assert.equal(answer.status, 400, `${what}: ${JSON.stringify(answer.body)}`);
            assert.equal(answer.body.error.code, "too_deep", what);
            assert.match(answer.body.error.message, new RegExp(`deeper than ${MAX_PARSE_DEPTH} levels: refused before parsing`), what);
          } else if (route === EVALUATE) {
            assert.equal(answer.status, 200, `${what}: ${JSON.stringify(answer.body)}`);
            assert.equal(answer.body.enforcement_action, "block", what);
            assert.equal(answer.body.effective_decision, "block", what);
            assert.equal(answer.body.approval_request, null, `${what}: no approval is opened for what nobody can inspect`);
            assert.equal(answer.body.matched_guardrails[0].key, "request-too-deep", what);
            assert.equal(answer.body.reason, `arguments: nested deeper than ${MAX_NESTING_DEPTH} levels, too deep to inspect`, what);
            assert.ok(answer.body.matched_guardrails.some((g: any) => g.key === "prod-deploys"), `${what}: the rest of the request is still decided on`);
            evaluated.push(deep);
          } else {
            assert.equal(answer.status, 400, `${what}: ${JSON.stringify(answer.body)}`);
            assert.equal(answer.body.error.code, "too_deep", what);
            const limit = route === "/v1/guardrails/decisions" ? MAX_NESTING_DEPTH + 3 : MAX_NESTING_DEPTH;
            assert.match(answer.body.error.message, new RegExp(`nests deeper than ${limit} levels`), what);
            assert.equal(typeof answer.body.error.field, "string", what);
            const topLevel = Object.keys(JSON.parse(body("0")));
            assert.ok(topLevel.includes(answer.body.error.field.split(".")[0]), `${what}: names the field (${answer.body.error.field})`);
          }
        }
      }
    }
    // One level less is an ordinary request: the limit blocks only what is past it.
    const atLimit = await call(sidecar, "POST", EVALUATE, { body: deployBody(deepJson(MAX_NESTING_DEPTH, "object")) });
    assert.equal(atLimit.status, 200);
    assert.equal(atLimit.body.enforcement_action, "wait_for_approval");
    stream.close();

    const health = await call(sidecar, "GET", "/v1/health");
    assert.equal(health.status, 200);
    assert.equal(health.body.pending_approvals, 1, "only the request at the limit opened an approval");
    assert.equal(health.body.mode, "enforce", "POST /v1/mode with a deep body changed nothing");
    assert.equal(await sidecar.stop(), 0);

    // Nothing but the evaluate decisions was journaled, each with a placeholder and the digest of the value.
    const records = logRecords(workspace);
    const tooDeep = records.filter((r) => r.kind === "decision" && r.data.decision.matched_guardrails[0]?.key === "request-too-deep");
    assert.equal(tooDeep.length, DEPTHS.filter((levels) => levels <= MAX_PARSE_DEPTH).length * 2);
    assert.deepEqual(
      records.filter((r) => !tooDeep.includes(r)).map((r) => r.kind),
      ["decision", "approval.requested"],
      "the request at the limit; nothing else",
    );
    for (const [i, record] of tooDeep.entries()) {
      const expected = createHash("sha256").update(canonicalJson(JSON.parse(evaluated[i]!))).digest("hex");
      assert.deepEqual(record.data.request.arguments, { apie_too_deep: { max_depth: MAX_NESTING_DEPTH, sha256: expected } });
      assert.equal(record.data.approval_id, null);
    }
    const verify = auditVerify(workspace);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, new RegExp(`ok: ${records.length} records, chain intact`));
  });

  it("monitor mode: a too-deep evaluate is an allow logged as would-block, as any block in monitor", async () => {
    const body = deployBody(deepJson(3_000, "object")).replace('"mode":"enforce",', "");
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "monitor", templates: { "prod-deploys": true } }));
    await waitFor(async () => (await call(sidecar, "GET", "/v1/health")).body.mode === "monitor");
    const answer = await call(sidecar, "POST", EVALUATE, { body });
    assert.equal(answer.status, 200);
    assert.deepEqual([answer.body.policy_decision, answer.body.effective_decision, answer.body.enforcement_action, answer.body.annotation], ["block", "allow", "proceed", "would_block"]);
    assert.equal(answer.body.matched_guardrails[0].key, "request-too-deep");
  });

  it("every id route answers a malformed percent-escape with a JSON 400 naming the path, over HTTP and the stream", async () => {
    const admin = sidecar.discovery.adminKey;
    const stream = await openStream(sidecar, admin);
    for (const [method, route] of ID_ROUTES) {
      for (const escape of BAD_ESCAPES) {
        const urlPath = route.replace("%ID%", escape);
        const body = method === "POST" ? "{}" : undefined;
        const answers = { http: await call(sidecar, method, urlPath, { key: admin, ...(body ? { body } : {}) }), stream: await stream.call(method, urlPath, body) };
        for (const [via, answer] of Object.entries(answers)) {
          const what = `${via} ${method} ${urlPath}`;
          assert.equal(answer.status, 400, `${what}: ${JSON.stringify(answer.body)}`);
          assert.equal(answer.body.error.code, "invalid_path", what);
          assert.equal(answer.body.error.field, "path", what);
          assert.ok(answer.body.error.message.startsWith(urlPath), `${what}: names the path (${answer.body.error.message})`);
        }
      }
    }
    stream.close();
    assert.equal((await call(sidecar, "GET", "/v1/health")).status, 200);
  });
});

describe("hostile input: the deep-nesting attack end to end (real SDK, real sidecar)", function () {
  this.timeout(120_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  let sdk: SdkClients;

  before(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-hostile-sdk-"));
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-deploys": true } }));
    sidecar = await startSidecarProcess(workspace);
  });
  after(async () => {
    await sidecar.stop();
    rmSync(workspace, { recursive: true, force: true });
  });
  beforeEach(() => (sdk = new SdkClients()));
  afterEach(() => sdk.shutdownAll());

  it("an enforced production deploy under prod-deploys whose arguments nest 3 000 levels, default fail_open: 20 tries, 0 callbacks run", async () => {
    // The default guardFailureMode (fail_open): the mode the issue's attack turned into an allow.
    const apie = sdk.make({ agent: { key: "release-gate" }, baseUrl: sidecar.discovery.baseUrl, apiKey: sidecar.discovery.apiKey, mode: "enforce" });
    assert.equal(apie.config.guardFailureMode, "fail_open");
    const args = JSON.parse(deepJson(3_000, "object"));
    let ran = 0;
    for (let i = 0; i < 20; i++) {
      const error = await apie
        .withTool({ tool: { name: "deploy.release", provider: "cicd" }, resource: { type: "deployment_event", environment: "production" }, arguments: args }, () => {
          ran++;
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(error instanceof ApieError && error.code === "blocked", String(error));
      assert.equal(error.decision?.matchedGuardrails[0]?.key, "request-too-deep");
    }
    assert.equal(ran, 0);
    const health = await call(sidecar, "GET", "/v1/health");
    assert.equal(health.body.pending_approvals, 0, "no approval was opened");
  });
});

describe("hostile input: the SDK against an error the sidecar answered (stand-in server)", function () {
  this.timeout(30_000);
  // A stand-in for the sidecar: the real one no longer answers 5xx to any request we know how to make, and
  // the SDK's promise is about any error it might answer. Over HTTP; the stream's reply frames go through the
  // same interpret() in sdk/http.ts.
  const answers: Record<string, (res: ServerResponse) => void> = {
    "500 with Apie's error body": (res) => res.writeHead(500, { "content-type": "application/json" }).end('{"error":{"code":"internal","message":"RangeError: Maximum call stack size exceeded"}}'),
    "503 with Apie's error body": (res) => res.writeHead(503, { "content-type": "application/json" }).end('{"error":{"code":"overloaded","message":"try later"}}'),
    "429 with Apie's error body": (res) => res.writeHead(429, { "content-type": "application/json" }).end('{"error":{"code":"too_many","message":"slow down"}}'),
  };
  let sdk: SdkClients;
  beforeEach(() => (sdk = new SdkClients()));
  afterEach(() => sdk.shutdownAll());

  for (const [name, answer] of Object.entries(answers)) {
    describe(name, () => {
      let server: Server;
      let baseUrl: string;
      before(async () => ({ server, baseUrl } = await startStandIn(answer)));
      after(() => close(server));
      for (const guardFailureMode of ["fail_open", "fail_closed", "throw"] as const) {
        it(`${guardFailureMode}: the callback does not run; the error is the sidecar's, not "guard unavailable"`, async () => {
          const options: ApieOptions & { agent: { key: string } } = { agent: { key: "release-gate" }, baseUrl, apiKey: "apie_test", mode: "enforce", guardFailureMode, guardTimeoutMs: 2_000, retry: { attempts: 1, baseDelayMs: 10 } };
          const apie = sdk.make(options);
          let ran = false;
          const error = await apie.withTool({ tool: { name: "deploy.release" }, resource: { type: "deployment_event", environment: "production" } }, () => (ran = true)).then(
            () => undefined,
            (e: unknown) => e,
          );
          assert.equal(ran, false);
          assert.ok(error instanceof ApieError && error.code === "http_error", String(error));
          assert.ok(error.status !== undefined && error.status >= 400 && error.serverCode !== undefined, String(error));
          assert.ok(!sdk.warnings.some((w) => /guard unavailable/.test(w)), sdk.warnings.join("\n"));
        });
      }
    });
  }
});

describe("hostile input: the MCP proxy with deeply nested tool arguments (real proxy, sidecar, upstream)", function () {
  this.timeout(60_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;

  before(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-hostile-mcp-"));
    sidecar = await startSidecarProcess(workspace);
  });
  after(async () => {
    await sidecar.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  for (const mode of ["enforce", "monitor"] as const) {
    it(`${mode}: a tools/call whose arguments nest past the limit is refused (-32001), never forwarded; the next call goes through`, async () => {
      const config = writeJson(workspace, `apie.mcp.${mode}.json`, { agentKey: `mcp-deep-${mode}`, serverName: "fixture", mode, upstream: { command: process.execPath, args: [CRASHING] } });
      const proxy = RawMcp.proxy(["--config", config], sidecarEnv(sidecar), workspace);
      try {
        await proxy.initialize();
        let id = 0;
        for (const levels of [MAX_NESTING_DEPTH + 1, 3_000, 100_000]) {
          const deepId = `deep-${++id}`;
          // Written as text: the official client could not even serialize 100 000 levels.
          proxy.write(`{"jsonrpc":"2.0","id":"${deepId}","method":"tools/call","params":{"name":"echo","arguments":{"message":"hi","nested":${deepJson(levels, id % 2 === 0 ? "array" : "object")}}}}`);
          const refused = await proxy.next((m) => m.id === deepId, 20_000);
          assert.equal(refused.error?.code, -32001, JSON.stringify(refused).slice(0, 500));
          assert.equal(refused.error.data.matched_guardrail, "request-too-deep");
          // The fixture echoes every tools/call it gets; the next call's answer comes after any earlier one.
          const after = await proxy.request(`after-${id}`, "tools/call", { name: "echo", arguments: { message: `after ${levels}` } });
          assert.deepEqual(after.result?.content, [{ type: "text", text: `echo: after ${levels}` }], JSON.stringify(after));
          assert.equal(proxy.messages.filter((m) => m.id === deepId).length, 1, "one answer, the proxy's: the upstream never saw the call");
        }
        // Arguments at the limit itself (64 levels counting `arguments`) are an ordinary call: forwarded, and
        // its decision journaled — also when the proxy's replica decided it and reported it in a batch.
        const atLimit = await proxy.request("at-limit", "tools/call", { name: "echo", arguments: JSON.parse(`{"message":"at the limit","nested":${deepJson(MAX_NESTING_DEPTH - 1, "object")}}`) });
        assert.deepEqual(atLimit.result?.content, [{ type: "text", text: "echo: at the limit" }], JSON.stringify(atLimit).slice(0, 500));
        await waitFor(() => logRecords(workspace).some((r) => r.kind === "decision" && r.data.request.agent_key === `mcp-deep-${mode}` && r.data.request.arguments?.message === "at the limit"), 10_000);
        // The refusals are recorded as the proxy's own decisions on the sidecar's timeline.
        // Sent with the timeline's next flush (every 2 s, retried on failure): the proxy says why if not.
        await waitFor(() => refusalsRecorded(workspace, `mcp-deep-${mode}`) > 0, 10_000).catch(() => assert.fail(`no refusal recorded; the proxy said:\n${proxy.stderr()}`));
        assert.equal((await call(sidecar, "GET", "/v1/health")).status, 200);
      } finally {
        proxy.kill();
        await proxy.exited;
      }
    });
  }

  it("a proxy started before its sidecar records the refusal of the first call after the sidecar came up", async () => {
    const late = mkdtempSync(path.join(tmpdir(), "apie-hostile-mcp-late-"));
    const config = writeJson(late, "apie.mcp.json", { agentKey: "mcp-deep-late", serverName: "fixture", upstream: { command: process.execPath, args: [CRASHING] } });
    // No APIE_BASE_URL: the proxy looks for the discovery file next to its config, as under a host.
    const proxy = RawMcp.proxy(["--config", config], cleanEnv(), late);
    let lateSidecar: SidecarUnderTest | undefined;
    try {
      await proxy.initialize();
      await waitFor(() => /no sidecar found/.test(proxy.stderr()));
      lateSidecar = await startSidecarProcess(late);
      // Past the proxy's once-a-second relocation: the deep call is the first thing that finds the sidecar.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      proxy.write(`{"jsonrpc":"2.0","id":"deep","method":"tools/call","params":{"name":"echo","arguments":{"nested":${deepJson(MAX_NESTING_DEPTH + 1, "object")}}}}`);
      const refused = await proxy.next((m) => m.id === "deep", 20_000);
      assert.equal(refused.error?.code, -32001, JSON.stringify(refused));
      await waitFor(() => refusalsRecorded(late, "mcp-deep-late") > 0, 10_000).catch(() => assert.fail(`no refusal recorded; the proxy said:\n${proxy.stderr()}`));
    } finally {
      proxy.kill();
      await proxy.exited;
      await lateSidecar?.stop();
      rmSync(late, { recursive: true, force: true });
    }
  });
});
