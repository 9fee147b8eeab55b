import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { hostileRequests, type HostileRequest } from "../support/hostileRequests";
import { call } from "./sidecarHttp";
import { CLI, startSidecarProcess, type SidecarUnderTest } from "./sidecarProcess";
import { openCalls } from "./streamClient";

/** Fixed seeds: the same requests every run; a failure names the request to replay. */
const SEEDS = [11, 42];
const REQUESTS_PER_SEED = 250;

interface Answer {
  status: number;
  text: string;
}

function send(sidecar: SidecarUnderTest, r: HostileRequest): Promise<Answer> {
  const { apiKey } = sidecar.discovery;
  const key = r.key === "agent" ? apiKey : r.key === "wrong" ? "apie_wrong" : undefined;
  return new Promise((resolve, reject) => {
    const req = request(new URL(r.path, sidecar.discovery.baseUrl), { method: r.method, headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) } }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, text }));
    });
    req.on("error", reject);
    req.end(r.body);
  });
}

/** What a request looked like, short enough for a failure message. */
const describeRequest = (r: HostileRequest) => `${r.method} ${r.path.slice(0, 80)} key=${r.key} body=${(r.body ?? "").slice(0, 120)}…`;

/**
 * Issue 11's hostile-input suite: seeded hostile requests (test/support/hostileRequests.ts — deep nesting up to
 * 100 000 levels, wrong types, huge strings, invalid JSON, bad percent-escapes, unknown routes) over HTTP and
 * as /v1/stream call frames. Every answer is JSON and never a 5xx, the sidecar stays up, and the event log it
 * wrote still verifies.
 */
describe("hostile input fuzz: every answer a JSON error or a decision, the sidecar up, the log intact (real sidecar process)", function () {
  this.timeout(120_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;

  before(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-hostile-fuzz-"));
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-deploys": true, "prod-shell": true } }));
    sidecar = await startSidecarProcess(workspace);
  });
  after(async () => {
    await sidecar.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  for (const seed of SEEDS) {
    it(`seed ${seed}: ${REQUESTS_PER_SEED} requests over HTTP`, async () => {
      for (const r of hostileRequests(seed, REQUESTS_PER_SEED)) {
        const answer = await send(sidecar, r);
        assert.ok(answer.status < 500, `${answer.status} ${answer.text.slice(0, 200)} for ${describeRequest(r)}`);
        assert.doesNotThrow(() => JSON.parse(answer.text), `not JSON (${answer.status}: ${answer.text.slice(0, 80)}) for ${describeRequest(r)}`);
      }
      assert.equal((await call(sidecar, "GET", "/v1/health")).status, 200);
    });

    it(`seed ${seed}: ${REQUESTS_PER_SEED} requests as /v1/stream call frames`, async () => {
      const s = await openCalls(sidecar);
      let id = 0;
      for (const r of hostileRequests(seed + 1_000, REQUESTS_PER_SEED)) {
        if (r.key !== "agent") continue; // a stream connection has one key, given at the upgrade
        const frame = `{"type":"call","id":${id},"method":"${r.method}","path":${JSON.stringify(r.path)}${r.body === undefined ? "" : `,"body":${r.body}`}}`;
        s.send(frame);
        // A frame that is not JSON as a whole gets an error frame and no reply: nothing to wait for.
        let whole = true;
        try {
          JSON.parse(frame);
        } catch {
          whole = false;
        }
        if (!whole) continue;
        const reply = await s.replyTo(id++);
        assert.ok(reply.status < 500, `${reply.status} ${JSON.stringify(reply.body).slice(0, 200)} for ${describeRequest(r)}`);
      }
      assert.equal((await s.call("health", "GET", "/v1/health")).status, 200);
      s.ws.close();
    });
  }

  it("the event log the sidecar wrote under all of it verifies", () => {
    const r = spawnSync(process.execPath, [CLI, "audit", "verify", "--state-dir", path.join(workspace, ".apie")], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /intact/i);
  });
});
