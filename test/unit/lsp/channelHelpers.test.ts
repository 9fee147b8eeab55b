import { strict as assert } from "node:assert";
import { ErrorCodes, ResponseError } from "vscode-languageserver/node";
import { GetRunParamsSchema, ResolveApprovalParamsSchema } from "../../../sidecar/protocol/lspParams";
import { sidecarOptionsFrom } from "../../../sidecar/lsp/initOptions";
import { parseParams } from "../../../sidecar/lsp/params";
import { StatusTracker } from "../../../sidecar/lsp/status";

function rejects(fn: () => unknown, code: number, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ResponseError);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

describe("lsp channel helpers", () => {
  it("answers bad params with InvalidParams naming the field", () => {
    rejects(() => parseParams(ResolveApprovalParamsSchema, { id: "apr_1", status: "maybe" }), ErrorCodes.InvalidParams, /^status: /);
    rejects(() => parseParams(GetRunParamsSchema, {}), ErrorCodes.InvalidParams, /^runId: /);
    rejects(() => parseParams(GetRunParamsSchema, undefined), ErrorCodes.InvalidParams, /expected object/);
    assert.deepEqual(parseParams(ResolveApprovalParamsSchema, { id: "apr_1", status: "approved" }), { id: "apr_1", status: "approved" });
  });

  it("reads initializationOptions, with defaults, and names a bad field", () => {
    const log = () => undefined;
    const options = sidecarOptionsFrom({ workspace: "/work/ws" }, log);
    assert.deepEqual({ ...options, log: undefined }, { workspace: "/work/ws", stateDir: "/work/ws/.apie", port: 0, mode: undefined, log: undefined });
    assert.equal(sidecarOptionsFrom({ workspace: "/w", stateDir: "/s", port: 4000, mode: "enforce" }, log).stateDir, "/s");
    rejects(() => sidecarOptionsFrom({ workspace: "/w", port: 70000 }, log), ErrorCodes.InvalidParams, /^initializationOptions\.port: /);
    rejects(() => sidecarOptionsFrom({ workspace: "/w", mode: "guard" }, log), ErrorCodes.InvalidParams, /^initializationOptions\.mode: /);
    rejects(() => sidecarOptionsFrom(undefined, log), ErrorCodes.InvalidParams, /^initializationOptions\.workspace: /);
    assert.throws(() => sidecarOptionsFrom({}, log), (error: ResponseError<{ retry: boolean }>) => error.data?.retry === false);
  });

  it("reports a status only when the mode, the policy state or its message changed", () => {
    const tracker = new StatusTracker({ mode: "monitor", policy: { state: "ok", message: null } });
    assert.equal(tracker.changed({ mode: "monitor", policy: { state: "ok", message: null } }), false);
    assert.equal(tracker.changed({ mode: "enforce", policy: { state: "ok", message: null } }), true);
    assert.equal(tracker.changed({ mode: "enforce", policy: { state: "stale", message: "a" } }), true);
    assert.equal(tracker.changed({ mode: "enforce", policy: { state: "stale", message: "b" } }), true);
    assert.equal(tracker.changed({ mode: "enforce", policy: { state: "stale", message: "b" } }), false);
  });
});
