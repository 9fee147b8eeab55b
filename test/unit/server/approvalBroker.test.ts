import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { GuardRequest } from "../../../sidecar/guard/types";
import { ApprovalBroker } from "../../../sidecar/server/approvalBroker";
import { EVENT_LOG_FILE } from "../../../sidecar/store/eventLog";
import { Journal } from "../../../sidecar/store/journal";
import { decision } from "../extension/fixtures";

/** Spending a grant: once, and durably before anyone is told (the crash side is test/integration/durability). */
describe("ApprovalBroker.redeem", () => {
  let dir: string;
  let journal: Journal;
  const request: GuardRequest = { agentKey: "release-gate", tool: { name: "deploy.release" }, action: { type: "execute" }, arguments: { version: "1.4.2" } };

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "apie-broker-"));
    ({ journal } = await Journal.open(path.join(dir, EVENT_LOG_FILE), { sync: true }));
  });
  afterEach(async () => {
    await journal.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a second redeem of the same grant while the first still waits for the disk, and hands out when the use is durable", async () => {
    const broker = new ApprovalBroker(journal);
    const approval = await broker.open(broker.draft(request, decision({ effective_decision: "require_approval", policy_decision: "require_approval", enforcement_action: "wait_for_approval" })));
    assert.equal((await broker.resolve(approval.id, "approved", "admin-key", null)).ok, true);

    const first = broker.redeem(approval.id, request, "dec_1");
    const second = broker.redeem(approval.id, request, "dec_2");
    assert.ok(first.ok);
    assert.deepEqual(second, { ok: false, reason: `approval ${approval.id} was already used` });
    let durable = false;
    void first.durable.then(() => (durable = true));
    await Promise.resolve();
    assert.equal(durable, false, "nothing is on disk within the turn of the redeem");
    await first.durable;
    const onDisk = readFileSync(journal.file, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { kind: string; data: { id?: string } });
    assert.ok(onDisk.some((r) => r.kind === "approval.used" && r.data.id === approval.id), "approval.used is in the file when durable resolves");
  });
});
