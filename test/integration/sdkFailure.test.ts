import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { Apie, ApieError, type ApieDecision, type ApieOptions } from "../../sidecar/sdk";
import { TransportError } from "../../sidecar/sdk/http";
import { startSidecarProcess, type SidecarUnderTest } from "./sidecarProcess";
import { SdkClients } from "./sdkClients";
import { close, listen, startStandIn } from "../support/standInServer";

/**
 * guardFailureMode against a sidecar that is not there, dies mid-run, never answers, or answers garbage.
 * Each scenario runs the same deploy call under fail_open (proceed + warn), fail_closed (blocked, callback
 * never runs) and throw (guard_unavailable).
 */

type FailureMode = "fail_open" | "fail_closed" | "throw";
const MODES: FailureMode[] = ["fail_open", "fail_closed", "throw"];

const deployCall = {
  tool: { name: "deploy.release", provider: "cicd", riskLevel: "high" },
  resource: { type: "deployment_event", environment: "production" },
} as const;

interface Outcome {
  ran: boolean;
  decision?: ApieDecision | null;
  error?: unknown;
  warnings: string[];
  elapsedMs: number;
}

/** Checks what each mode promises; `kind` is the transport failure the SDK must have seen. */
function expectMode(mode: FailureMode, outcome: Outcome, kind: TransportError["kind"]): void {
  if (mode === "fail_open") {
    assert.equal(outcome.error, undefined, String(outcome.error));
    assert.equal(outcome.ran, true);
    assert.equal(outcome.decision?.effectiveDecision, "allow");
    assert.equal(outcome.decision?.guardUnavailable?.failureMode, "fail_open");
    assert.match(outcome.decision!.reason, /guard unavailable \(fail_open\)/);
    assert.ok(outcome.warnings.some((w) => /guard unavailable, proceeding \(fail_open\)/.test(w)), outcome.warnings.join("\n"));
    return;
  }
  assert.equal(outcome.ran, false, "the callback never runs");
  assert.ok(outcome.error instanceof ApieError, String(outcome.error));
  assert.ok(outcome.error.cause instanceof TransportError, String(outcome.error.cause));
  assert.equal(outcome.error.cause.kind, kind);
  if (mode === "fail_closed") {
    assert.equal(outcome.error.code, "blocked");
    assert.match(outcome.error.message, /^Blocked: guard unavailable \(fail_closed\)/);
    assert.equal(outcome.error.decision?.enforcementAction, "block");
  } else {
    assert.equal(outcome.error.code, "guard_unavailable");
  }
}

async function attempt(apie: Apie, warnings: string[], inRun = false): Promise<Outcome> {
  const outcome: Outcome = { ran: false, warnings, elapsedMs: 0 };
  const started = Date.now();
  const call = () =>
    apie.withTool(deployCall, (decision) => {
      outcome.ran = true;
      outcome.decision = decision;
    });
  try {
    await (inRun ? apie.withRun({}, call) : call());
  } catch (error) {
    outcome.error = error;
  }
  outcome.elapsedMs = Date.now() - started;
  return outcome;
}

describe("SDK guardFailureMode (sidecar away, killed, slow, or answering garbage)", function () {
  this.timeout(30_000);
  let sdk = new SdkClients();
  const client = (baseUrl: string, guardFailureMode: FailureMode, extra: ApieOptions = {}): Apie =>
    sdk.make({
      agent: { key: "release-gate" },
      baseUrl,
      apiKey: "apie_test",
      mode: "enforce",
      guardFailureMode,
      guardTimeoutMs: 300,
      timeoutMs: 1_000,
      retry: { attempts: 1, baseDelayMs: 10 },
      ...extra,
    });
  beforeEach(() => {
    sdk = new SdkClients();
  });
  afterEach(async () => {
    await sdk.shutdownAll();
  });

  describe("sidecar never started (closed port)", () => {
    let baseUrl: string;
    before(async () => {
      const probe = createServer();
      baseUrl = await listen(probe);
      await close(probe);
    });
    for (const mode of MODES) {
      it(mode, async () => {
        const outcome = await attempt(client(baseUrl, mode), sdk.warnings, true);
        expectMode(mode, outcome, "unreachable");
        assert.ok(outcome.elapsedMs < 2_000, `connection refused is immediate (${outcome.elapsedMs} ms)`);
        if (mode === "fail_open") assert.ok(sdk.warnings.some((w) => /could not start a run .*continuing offline/.test(w)), sdk.warnings.join("\n"));
      });
    }
  });

  describe("sidecar killed with SIGKILL mid-run", () => {
    let workspace: string;
    let sidecar: SidecarUnderTest;
    beforeEach(async () => {
      workspace = mkdtempSync(path.join(tmpdir(), "apie-sdk-kill-"));
      writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ templates: { "prod-deploys": { decision: "warn" } } }));
      sidecar = await startSidecarProcess(workspace);
    });
    afterEach(async () => {
      await sidecar.stop();
      rmSync(workspace, { recursive: true, force: true });
    });
    for (const mode of MODES) {
      it(mode, async () => {
        const apie = client(sidecar.discovery.baseUrl, mode, { apiKey: sidecar.discovery.apiKey });
        await apie.ready();
        const outcome: Outcome = { ran: false, warnings: sdk.warnings, elapsedMs: 0 };
        let before: ApieDecision | null = null;
        try {
          await apie.withRun({ inputSummary: "deploy, then the sidecar dies" }, async () => {
            before = await apie.withTool(deployCall, (d) => d);
            sidecar.child.kill("SIGKILL");
            await sidecar.stop();
            await apie.withTool(deployCall, (decision) => {
              outcome.ran = true;
              outcome.decision = decision;
            });
          });
        } catch (error) {
          outcome.error = error;
        }
        assert.equal(before!.policyDecision, "warn", "the first call was answered by the live sidecar");
        expectMode(mode, outcome, "unreachable");
        if (mode === "fail_open") assert.ok(sdk.warnings.some((w) => /could not complete run/.test(w)), "completing the run fails quietly: " + sdk.warnings.join("\n"));
      });
    }
  });

  describe("a server that never answers (the guard deadline)", () => {
    let server: Server;
    let baseUrl: string;
    before(async () => {
      server = createServer(() => undefined);
      baseUrl = await listen(server);
    });
    after(() => close(server));
    for (const mode of MODES) {
      it(mode, async () => {
        const outcome = await attempt(client(baseUrl, mode), sdk.warnings);
        expectMode(mode, outcome, "timeout");
        assert.ok(outcome.elapsedMs >= 290 && outcome.elapsedMs < 1_500, `bounded by guardTimeoutMs=300 (${outcome.elapsedMs} ms)`);
      });
    }
  });

  describe("a server that answers garbage", () => {
    const garbage = {
      "200 text/html": (res: import("node:http").ServerResponse) => res.writeHead(200, { "content-type": "text/html" }).end("<html>hello</html>"),
      // Not the sidecar's answer (no Apie error body): still "guard unavailable". A 5xx WITH Apie's error body
      // is the sidecar answering, never unavailable: test/integration/hostileInput.test.ts.
      "502 HTML from something in between": (res: import("node:http").ServerResponse) => res.writeHead(502, { "content-type": "text/html" }).end("<h1>Bad Gateway</h1>"),
      "500 JSON that is not Apie's error body": (res: import("node:http").ServerResponse) => res.writeHead(500, { "content-type": "application/json" }).end('{"message":"boom"}'),
      "200 JSON that is not a decision": (res: import("node:http").ServerResponse) => res.writeHead(200, { "content-type": "application/json" }).end('{"decision":"allow"}'),
      "404 HTML (not an Apie server)": (res: import("node:http").ServerResponse) => res.writeHead(404, { "content-type": "text/html" }).end("<h1>Not Found</h1>"),
    };
    for (const [name, answer] of Object.entries(garbage)) {
      describe(name, () => {
        let server: Server;
        let baseUrl: string;
        before(async () => ({ server, baseUrl } = await startStandIn(answer)));
        after(() => close(server));
        for (const mode of MODES) {
          it(mode, async () => expectMode(mode, await attempt(client(baseUrl, mode), sdk.warnings), "bad_response"));
        }
      });
    }
  });
});
