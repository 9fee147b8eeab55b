import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { resolveConfig, type ConfigInput } from "../../../sidecar/sdk/config";
import { ApieError } from "../../../sidecar/sdk/errors";

const agent = { key: "release-gate" };
const base = { agent, baseUrl: "http://127.0.0.1:4100", apiKey: "apie_k" } satisfies ConfigInput;

function invalid(fn: () => unknown, field: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApieError, String(e));
    assert.equal(e.code, "invalid_config");
    assert.equal(e.field, field);
    assert.match(e.message, /^invalid Apie config: /);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe("sdk config", () => {
  let cwd: string;
  const noEnv = {};
  beforeEach(() => (cwd = mkdtempSync(path.join(tmpdir(), "apie-sdk-config-"))));
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));

  it("applies the Python SDK's defaults (plus guardTimeoutMs and timeoutMs)", () => {
    const c = resolveConfig(base, { env: noEnv, cwd });
    assert.equal(c.mode, "monitor");
    assert.equal(c.guardFailureMode, "fail_open");
    assert.equal(c.approvalTimeoutMs, 300_000);
    assert.equal(c.flushIntervalMs, 2_000);
    assert.equal(c.maxBatchSize, 25);
    assert.equal(c.maxQueueSize, 5_000);
    assert.equal(c.queueDropPolicy, "drop_oldest");
    assert.deepEqual(c.retry, { attempts: 3, baseDelayMs: 250 });
    assert.equal(c.guardTimeoutMs, 2_000);
    assert.equal(c.timeoutMs, 10_000);
    assert.equal(c.enabled, true);
    assert.equal(c.agent.name, "release-gate", "the name defaults to the key");
    assert.deepEqual(c.capabilities, []);
    assert.deepEqual(c.redactKeys, []);
  });

  it("takes inline over env over apie.config.json, merging objects field by field", () => {
    writeFileSync(
      path.join(cwd, "apie.config.json"),
      JSON.stringify({ agent: { key: "from-file", name: "File Name" }, baseUrl: "http://127.0.0.1:1", apiKey: "file_key", mode: "enforce", runtime: { environment: "staging", framework: "langchain" } }),
    );
    const env = { APIE_BASE_URL: "http://127.0.0.1:2", APIE_API_KEY: "env_key" };
    const c = resolveConfig({ agent: { key: "inline" }, runtime: { environment: "production" } }, { env, cwd });
    assert.equal(c.agent.key, "inline");
    assert.equal(c.agent.name, "File Name");
    assert.equal(c.baseUrl, "http://127.0.0.1:2");
    assert.equal(c.apiKey, "env_key");
    assert.equal(c.mode, "enforce");
    assert.deepEqual(c.runtime, { environment: "production", framework: "langchain" });
    assert.equal(resolveConfig({ ...base, apiKey: "inline_key" }, { env, cwd }).apiKey, "inline_key");
    assert.equal(resolveConfig({ agent, apiKey: undefined }, { env, cwd }).apiKey, "env_key", "an undefined inline field does not hide the env");
  });

  it("reads APIE_MODE (guard means enforce) and names a bad env value", () => {
    assert.equal(resolveConfig(base, { env: { APIE_MODE: "enforce" }, cwd }).mode, "enforce");
    assert.equal(resolveConfig(base, { env: { APIE_MODE: "guard" }, cwd }).mode, "enforce");
    assert.equal(resolveConfig({ ...base, mode: "monitor" }, { env: { APIE_MODE: "enforce" }, cwd }).mode, "monitor", "inline wins");
    invalid(() => resolveConfig(base, { env: { APIE_MODE: "enforcee" }, cwd }), "APIE_MODE");
    invalid(() => resolveConfig(base, { env: { APIE_BASE_URL: "localhost:3000" }, cwd }), "APIE_BASE_URL");
  });

  it("accepts a Python-style file: snake_case keys, flat retry fields, release_mode", () => {
    writeFileSync(
      path.join(cwd, "apie.config.json"),
      JSON.stringify({
        agent: { key: "py" },
        base_url: "http://127.0.0.1:3",
        api_key: "k",
        release_mode: "enforce",
        guard_failure_mode: "fail_closed",
        approval_timeout_ms: 1000,
        retry_attempts: 5,
        retry_base_delay_ms: 10,
        redact_keys: ["ssn"],
        headers: { "x-trace_id": "1" },
        tools: [{ name: "t", input_schema: { properties: { file_path: { type: "string" } } } }],
        capabilities: [{ tool: { name: "deploy.release" }, actions: ["execute"], risk_level: "high" }],
      }),
    );
    const c = resolveConfig(undefined, { env: noEnv, cwd });
    assert.equal(c.mode, "enforce");
    assert.equal(c.guardFailureMode, "fail_closed");
    assert.equal(c.approvalTimeoutMs, 1000);
    assert.deepEqual(c.retry, { attempts: 5, baseDelayMs: 10 });
    assert.deepEqual(c.redactKeys, ["ssn"]);
    assert.deepEqual(c.headers, { "x-trace_id": "1" }, "header names are data, not renamed");
    assert.deepEqual(c.tools[0]!.inputSchema, { properties: { file_path: { type: "string" } } }, "schemas are data, not renamed");
    assert.equal(c.capabilities[0]!.riskLevel, "high");
    assert.deepEqual(c.capabilities[0]!.resources, []);
  });

  it("reads configPath instead, relative to the working directory; a missing named file is an error", () => {
    writeFileSync(path.join(cwd, "other.json"), JSON.stringify({ ...base, mode: "enforce" }));
    assert.equal(resolveConfig({ configPath: "other.json" }, { env: noEnv, cwd }).mode, "enforce");
    invalid(() => resolveConfig({ ...base, configPath: "missing.json" }, { env: noEnv, cwd }), "configPath", /cannot read/);
  });

  it("names the file when it is not JSON or not an object", () => {
    writeFileSync(path.join(cwd, "apie.config.json"), "{ nope");
    invalid(() => resolveConfig(base, { env: noEnv, cwd }), "configPath", /apie\.config\.json is not JSON/);
    writeFileSync(path.join(cwd, "apie.config.json"), "[1]");
    invalid(() => resolveConfig(base, { env: noEnv, cwd }), "configPath", /must hold a JSON object/);
  });

  it("rejects bad values naming the field", () => {
    const bad = (input: Record<string, unknown>) => () => resolveConfig({ ...base, ...input } as ConfigInput, { env: noEnv, cwd });
    invalid(bad({ mode: "strict" }), "mode");
    invalid(bad({ guardFailureMode: "fail_silently" }), "guardFailureMode");
    invalid(bad({ approvalTimeoutMs: -1 }), "approvalTimeoutMs");
    invalid(bad({ guardTimeoutMs: 1.5 }), "guardTimeoutMs");
    invalid(bad({ maxBatchSize: 501 }), "maxBatchSize");
    invalid(bad({ retry: { attempts: 0 } }), "retry.attempts");
    invalid(bad({ baseUrl: "ftp://x" }), "baseUrl");
    invalid(bad({ agent: { key: "" } }), "agent.key");
    invalid(bad({ capabilities: [{ tool: {} }] }), "capabilities.0.tool.name");
    invalid(bad({ redactDenyPatterns: ["(unclosed"] }), "redactDenyPatterns.0", /not a valid regular expression/);
    invalid(bad({ runtime: { environment: 3 } }), "runtime.environment");
  });

  it("rejects unknown fields, so a typo cannot silently keep the defaults", () => {
    invalid(() => resolveConfig({ ...base, guardFailureMod: "fail_closed" } as ConfigInput, { env: noEnv, cwd }), "guardFailureMod", /unknown field/);
    invalid(() => resolveConfig({ ...base, runtime: { enviroment: "prod" } } as ConfigInput, { env: noEnv, cwd }), "runtime.enviroment");
  });

  it("needs agent.key, apiKey and baseUrl — except for a disabled client", () => {
    invalid(() => resolveConfig({ baseUrl: base.baseUrl, apiKey: "k" } as ConfigInput, { env: noEnv, cwd }), "agent");
    invalid(() => resolveConfig({ agent, baseUrl: base.baseUrl }, { env: noEnv, cwd }), "apiKey", /APIE_API_KEY/);
    invalid(() => resolveConfig({ agent, apiKey: "k" }, { env: noEnv, cwd }), "baseUrl", /APIE_BASE_URL/);
    const off = resolveConfig({ agent, enabled: false }, { env: noEnv, cwd });
    assert.equal(off.enabled, false);
    assert.equal(off.apiKey, undefined);
  });
});
