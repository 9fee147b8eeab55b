import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { MAX_NESTING_DEPTH } from "../../sidecar/protocol/v1";
import { call } from "./sidecarHttp";
import { sidecarPool, startSidecarProcess, type SidecarUnderTest } from "./sidecarProcess";

/**
 * Issue 11 item 5: POST /v1/events is all or nothing, and a retried event id is recognised. Before, a batch
 * whose k-th event could not be serialised answered 500 after its first events were logged, and every retry
 * (the SDK retries 5xx) logged them again.
 */
describe("POST /v1/events: all or nothing, idempotent per event_id", function () {
  this.timeout(30_000);
  let workspace: string;
  const sidecars = sidecarPool(() => workspace);
  const start = sidecars.start;
  const lastSeq = async (sidecar: SidecarUnderTest): Promise<number> => (await call(sidecar, "GET", "/v1/health")).body.last_seq;
  const batch = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => ({ type: "agent.tool.called", agent_key: "retrier", event_id: `${prefix}-${i}`, tool: { name: "docs.search" }, metadata: { i } }));
  /** JSON nested `depth` levels: valid, fine for the schema (an extra field), too deep for JSON.stringify. */
  const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

  beforeEach(() => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-events-"));
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({}));
  });
  afterEach(async () => {
    await sidecars.stopAll();
    rmSync(workspace, { recursive: true, force: true });
  });

  it("a batch whose 7th event cannot be logged (an extra field nested past the limit): 400 naming events.6, nothing appended", async () => {
    const sidecar = await start();
    const before = await lastSeq(sidecar);
    const events: object[] = batch("deep", 10);
    events[6] = { ...events[6], extra: "NESTED" };
    const body = JSON.stringify({ events }).replace('"NESTED"', nested(MAX_NESTING_DEPTH + 10));
    const refused = await call(sidecar, "POST", "/v1/events", { body });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, "too_deep");
    assert.match(refused.body.error.field, /^events\.6\b/);
    assert.equal(await lastSeq(sidecar), before, "no event of the refused batch was logged");
    // The sidecar is fine: the batch without the bad event is logged whole.
    const accepted = await call(sidecar, "POST", "/v1/events", { body: JSON.stringify({ events: events.filter((_, i) => i !== 6) }) });
    assert.equal(accepted.status, 200);
    assert.equal(await lastSeq(sidecar), before + 9);
  });

  it("the same batch sent twice is appended once; both answers list the same seqs", async () => {
    const sidecar = await start();
    const events = batch("twice", 12);
    const before = await lastSeq(sidecar);
    const first = await call(sidecar, "POST", "/v1/events", { body: JSON.stringify({ events }) });
    const again = await call(sidecar, "POST", "/v1/events", { body: JSON.stringify({ events }) });
    assert.equal(first.status, 200);
    assert.deepEqual(again.body, first.body);
    assert.equal(first.body.seqs.length, 12);
    assert.equal(await lastSeq(sidecar), before + 12);
    // Sent concurrently (a retry racing the first attempt): still once.
    const racing = batch("race", 8);
    const seqBefore = await lastSeq(sidecar);
    const [a, b] = await Promise.all([0, 1].map(() => call(sidecar, "POST", "/v1/events", { body: JSON.stringify({ events: racing }) })));
    assert.deepEqual(a!.body.seqs, b!.body.seqs);
    assert.equal(await lastSeq(sidecar), seqBefore + 8);
    // A retry that carries the old events and new ones: only the new ones are appended, in order.
    const mixed = [...events.slice(0, 3), ...batch("new", 2)];
    const third = await call(sidecar, "POST", "/v1/events", { body: JSON.stringify({ events: mixed }) });
    assert.deepEqual(third.body.seqs, [...first.body.seqs.slice(0, 3), seqBefore + 9, seqBefore + 10]);
  });

  it("a retry after a restart (even kill -9) is recognised: the original seqs, nothing appended", async () => {
    const first = await start();
    const events = batch("restart", 20);
    const ack = await call(first, "POST", "/v1/events", { body: JSON.stringify({ events }) });
    assert.equal(ack.status, 200);
    first.child.kill("SIGKILL");
    await first.stop();
    const second = await start();
    const before = await lastSeq(second);
    const retry = await call(second, "POST", "/v1/events", { body: JSON.stringify({ events }) });
    assert.equal(retry.status, 200);
    assert.deepEqual(retry.body.seqs, ack.body.seqs);
    assert.equal(await lastSeq(second), before);
  });

  it("the same event_id with other content is not a retry: logged, with a warning (an id cannot silence a later event)", async () => {
    const sidecar = await start();
    const [original] = batch("reused", 1);
    const first = await call(sidecar, "POST", "/v1/events", { body: JSON.stringify({ events: [original] }) });
    const other = await call(sidecar, "POST", "/v1/events", { body: JSON.stringify({ events: [{ ...original, metadata: { i: 99 } }] }) });
    assert.equal(other.status, 200);
    assert.notDeepEqual(other.body.seqs, first.body.seqs);
    assert.match(other.body.warnings.join("\n"), /already logged .* with other content/);
  });
});
