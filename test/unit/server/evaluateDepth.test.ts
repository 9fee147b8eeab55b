import { strict as assert } from "node:assert";
import { MAX_NESTING_DEPTH } from "../../../sidecar/protocol/v1";
import type { ApprovalBroker } from "../../../sidecar/server/approvalBroker";
import type { RouteDispatcher } from "../../../sidecar/server/dispatch";
import { HttpError } from "../../../sidecar/server/routing";
import type { TimelineRecord } from "../../../sidecar/protocol/records";
import { openInProcessRoutes, type InProcessRoutes } from "../../support/inProcessRoutes";

/**
 * The evaluate route and the dispatcher in-process (a real journal in a temp folder, no sockets): where the
 * depth check sits, and the ordering that keeps the journal from naming an approval that was never opened.
 */

function nested(levels: number): unknown {
  let value: unknown = "bottom";
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

const deploy = (args: unknown) => ({
  agent_key: "release-gate",
  mode: "enforce",
  tool: { name: "deploy.release", provider: "cicd" },
  resource: { type: "deployment_event", environment: "production" },
  arguments: args,
});

describe("evaluate: depth check at the dispatcher, approvals journaled only once opened", () => {
  let rig: InProcessRoutes;
  let approvals: ApprovalBroker;
  let routes: RouteDispatcher;
  /** Every record appended, in order (what the journal's listeners are told). */
  let records: TimelineRecord[];

  beforeEach(async () => {
    rig = await openInProcessRoutes({ mode: "enforce", templates: { "prod-deploys": true } });
    ({ approvals, routes, records } = rig);
  });
  afterEach(() => rig.close());

  const run = (method: string, urlPath: string, body: unknown) => rig.send(method, urlPath, body);
  const kinds = () => records.map((r) => r.kind);

  it("an approval that cannot be drafted leaves nothing in the journal and answers an error, not an allow", async () => {
    approvals.draft = () => {
      throw new RangeError("Maximum call stack size exceeded");
    };
    await assert.rejects(run("POST", "/v1/guardrails/evaluate", deploy({ version: "1" })), RangeError);
    assert.deepEqual(kinds(), [], "no decision naming an approval that was never opened");
  });

  it("the decision and the approval it names are appended in the same turn, decision first", async () => {
    let appendedInOneTurn: string[] = [];
    const pending = run("POST", "/v1/guardrails/evaluate", deploy({ version: "1" }));
    await Promise.resolve(); // the route has run up to its first wait for the disk
    appendedInOneTurn = kinds();
    const answer = (await pending) as { approval_request: { id: string } };
    assert.deepEqual(appendedInOneTurn, ["decision", "approval.requested"]);
    const [decision, requested] = records;
    assert.equal((decision!.data as { approval_id: string }).approval_id, answer.approval_request.id);
    assert.equal((requested!.data as { approval: { id: string } }).approval.id, answer.approval_request.id);
  });

  it("a body past the limit: evaluate answers a block, other routes a 400 naming the field, without their handler", async () => {
    const blocked = (await run("POST", "/v1/guardrails/evaluate", deploy(nested(MAX_NESTING_DEPTH + 1)))) as { enforcement_action: string; approval_request: unknown };
    assert.equal(blocked.enforcement_action, "block");
    assert.equal(blocked.approval_request, null);
    await assert.rejects(run("POST", "/v1/agents/identify", { agent: { key: "k", extra: nested(5_000) } }), (e: unknown) => e instanceof HttpError && e.status === 400 && e.code === "too_deep" && e.field === "agent.extra.a");
    assert.deepEqual(kinds(), ["decision"], "identify journaled nothing");
  });

  it("reported decisions may carry evaluate bodies as deep as evaluate accepts (the envelope's 3 levels on top)", async () => {
    const report = (levels: number) => ({ decisions: [{ decision_id: "dec_r1", body: { agent_key: "mcp", tool: { name: "x.echo" }, arguments: nested(levels) } }] });
    const accepted = (await run("POST", "/v1/guardrails/decisions", report(MAX_NESTING_DEPTH))) as { accepted: number };
    assert.equal(accepted.accepted, 1);
    await assert.rejects(run("POST", "/v1/guardrails/decisions", report(MAX_NESTING_DEPTH + 1)), (e: unknown) => e instanceof HttpError && e.code === "too_deep" && e.field === "decisions.0.body");
  });

  it("a malformed percent-escape in an id is a 400 naming the path", () => {
    assert.throws(() => routes.find("GET", "/v1/runs/%E0%A4%A", "agent"), (e: unknown) => e instanceof HttpError && e.status === 400 && e.code === "invalid_path" && e.field === "path");
  });
});
