import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { MAX_IDENT_CHARS } from "../../sidecar/protocol/wire";
import { MAX_PENDING_APPROVALS, MAX_WAITERS } from "../../sidecar/server/approvalBroker";
import { MAX_CALLS_PER_CONNECTION, MAX_STREAM_CLIENTS } from "../../sidecar/server/streamHub";
import { call } from "./sidecarHttp";
import { startSidecarProcess, waitFor, type SidecarUnderTest } from "./sidecarProcess";
import { openCalls } from "./streamClient";
import { productionDeploy as deploy } from "./requests";

/** A raw TCP exchange: what the sidecar wrote back, and whether it closed the connection. */
interface RawExchange {
  socket: Socket;
  received: () => string;
  closed: Promise<void>;
}

function rawConnect(sidecar: SidecarUnderTest, first: string): Promise<RawExchange> {
  const { port } = new URL(sidecar.discovery.baseUrl);
  return new Promise((resolve, reject) => {
    let text = "";
    const socket = connect(Number(port), "127.0.0.1", () => {
      socket.write(first);
      resolve({ socket, received: () => text, closed });
    });
    const closed = new Promise<void>((done) => socket.once("close", () => done()));
    socket.on("data", (d) => (text += d.toString()));
    socket.on("error", () => undefined);
    socket.once("error", reject);
  });
}

/** The status line and JSON body of the one answer in `text`. */
function parseAnswer(text: string): { status: number; body: any; headers: string } {
  const split = text.indexOf("\r\n\r\n");
  assert.ok(split > 0, `an HTTP answer, got ${JSON.stringify(text)}`);
  const headers = text.slice(0, split);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1]), headers, body: JSON.parse(text.slice(split + 4)) };
}

/**
 * Issue 11, isolation and limits (items 9, 10): every refusal is a JSON error, nothing a client withholds is
 * held forever, and no flood on one connection grows the sidecar without bound — it stays up and answers.
 */
describe("hostile limits: bounded, and every answer a JSON error (real sidecar process)", function () {
  this.timeout(60_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  const host = () => `127.0.0.1:${new URL(sidecar.discovery.baseUrl).port}`;

  before(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-hostile-limits-"));
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ mode: "enforce", templates: { "prod-deploys": true } }));
    sidecar = await startSidecarProcess(workspace, ["--request-timeout-ms", "800"]);
  });
  after(async () => {
    await sidecar.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  const stillServing = async () => {
    const health = await call(sidecar, "GET", "/v1/health");
    assert.equal(health.status, 200);
    assert.equal(sidecar.child.exitCode, null);
  };

  describe("answers Node's HTTP parser makes itself carry a JSON error body", () => {
    const cases: [string, (host: string) => string, number, string][] = [
      ["an unknown method", (h) => `FROB /v1/health HTTP/1.1\r\nHost: ${h}\r\n\r\n`, 400, "invalid_method"],
      ["headers over 16 KiB", (h) => `GET /v1/health HTTP/1.1\r\nHost: ${h}\r\nX-Filler: ${"a".repeat(20_000)}\r\n\r\n`, 431, "headers_too_large"],
      ["a header line that is not a header", (h) => `GET /v1/health HTTP/1.1\r\nHost: ${h}\r\nnot a header\r\n\r\n`, 400, "bad_request"],
    ];
    for (const [what, request, status, code] of cases) {
      it(`${what} → ${status} ${code}, connection closed`, async () => {
        const raw = await rawConnect(sidecar, request(host()));
        await raw.closed;
        const answer = parseAnswer(raw.received());
        assert.equal(answer.status, status);
        assert.equal(answer.body.error.code, code);
        assert.match(answer.headers, /content-type: application\/json/i);
        await stillServing();
      });
    }
  });

  describe("a body that never finishes is not held", () => {
    it("with the key: answered 408 request_timeout once --request-timeout-ms passes, and closed", async () => {
      const raw = await rawConnect(sidecar, `POST /v1/events HTTP/1.1\r\nHost: ${host()}\r\nAuthorization: Bearer ${sidecar.discovery.apiKey}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"events":[`);
      await raw.closed;
      const answer = parseAnswer(raw.received());
      assert.equal(answer.status, 408);
      assert.equal(answer.body.error.code, "request_timeout");
      await stillServing();
    });

    it("without the key: answered 401 at once, and the connection is closed by the request timeout instead of drained forever", async () => {
      const raw = await rawConnect(sidecar, `POST /v1/events HTTP/1.1\r\nHost: ${host()}\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{"events":[`);
      // Keep trickling: a client that never stops sending is cut off, not read forever.
      const trickle = setInterval(() => raw.socket.write("0,"), 50);
      try {
        await raw.closed;
      } finally {
        clearInterval(trickle);
      }
      const answer = parseAnswer(raw.received());
      assert.equal(answer.status, 401);
      assert.equal(answer.body.error.code, "unauthorized");
    });

    it("a declared body over the cap: 413, then the connection closes (request timeout)", async () => {
      const raw = await rawConnect(sidecar, `POST /v1/events HTTP/1.1\r\nHost: ${host()}\r\nAuthorization: Bearer ${sidecar.discovery.apiKey}\r\nContent-Length: 100000000\r\n\r\n[`);
      const trickle = setInterval(() => raw.socket.write("0,"), 50);
      try {
        await raw.closed;
      } finally {
        clearInterval(trickle);
      }
      assert.equal(parseAnswer(raw.received()).status, 413);
    });
  });

  describe("strings the sidecar keeps in memory are bounded (400 naming the field)", () => {
    const long = "k".repeat(MAX_IDENT_CHARS + 1);
    const cases: [string, string, unknown, string][] = [
      ["an agent key", "/v1/agents/identify", { agent: { key: long } }, "agent.key"],
      ["an agent name", "/v1/agents/identify", { agent: { key: "a", name: long } }, "agent.name"],
      ["a tool name in a guard call", "/v1/guardrails/evaluate", { ...deploy, tool: { name: long } }, "tool.name"],
      ["a run id in a guard call", "/v1/guardrails/evaluate", { ...deploy, run_id: long }, "run_id"],
      ["a run's agent key", "/v1/runs", { agent_key: long }, "agent_key"],
      ["an event's run id", "/v1/events", { events: [{ type: "note", agent_key: "a", run_id: long }] }, "events.0.run_id"],
    ];
    for (const [what, route, body, field] of cases) {
      it(`${what} over ${MAX_IDENT_CHARS} characters`, async () => {
        const answer = await call(sidecar, "POST", route, { body: JSON.stringify(body) });
        assert.equal(answer.status, 400);
        assert.equal(answer.body.error.field, field);
      });
    }

    it("a tool's input schema over 64 KiB", async () => {
      const id = (await call(sidecar, "POST", "/v1/agents/identify", { body: JSON.stringify({ agent: { key: "schema-agent" } }) })).body.agent_id;
      const inputSchema = { type: "object", description: "d".repeat(70_000) };
      const answer = await call(sidecar, "POST", `/v1/agents/${id}/tools/define`, { body: JSON.stringify({ name: "t", inputSchema }) });
      assert.equal(answer.status, 400);
      assert.equal(answer.body.error.field, "inputSchema");
    });
  });

  it(`past ${MAX_PENDING_APPROVALS} pending approvals, an enforced approval is blocked (not opened) until the queue is answered`, async () => {
    const s = await openCalls(sidecar);
    const pending = async () => (await call(sidecar, "GET", "/v1/health")).body.pending_approvals as number;
    const ask = (id: string) => s.call(id, "POST", "/v1/guardrails/evaluate", { ...deploy, arguments: { version: id } });
    const opened: string[] = [];
    for (let i = await pending(); i < MAX_PENDING_APPROVALS; i++) opened.push((await ask(`v${i}`)).body.approval_request.id);
    assert.equal(await pending(), MAX_PENDING_APPROVALS);

    const refused = (await ask("one-more")).body;
    assert.equal(refused.enforcement_action, "block");
    assert.equal(refused.approval_request, null);
    assert.equal(refused.matched_guardrails[0].key, "too-many-pending-approvals");
    assert.match(refused.reason, new RegExp(`${MAX_PENDING_APPROVALS} approvals are already waiting`));
    assert.equal(await pending(), MAX_PENDING_APPROVALS);

    // One answered (here: cancelled by the agent) makes room for the next.
    assert.equal((await s.call("cancel", "POST", `/v1/approvals/${opened[0]}/cancel`, {})).status, 200);
    const after = (await ask("after-cancel")).body;
    assert.equal(after.enforcement_action, "wait_for_approval");
    // Leave the queue empty for the tests after this one.
    for (const id of [...opened.slice(1), after.approval_request.id]) await s.call(`cancel-${id}`, "POST", `/v1/approvals/${id}/cancel`, {});
    s.ws.close();
  });

  it("a body over the cap sent in full at once gets its 413 (the refusal is heard, not a reset), and one past the drain limit is cut", async () => {
    const raw = await rawConnect(sidecar, `POST /v1/guardrails/evaluate HTTP/1.1\r\nHost: ${host()}\r\nAuthorization: Bearer ${sidecar.discovery.apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${3 * 1024 * 1024}\r\n\r\n`);
    raw.socket.write("x".repeat(3 * 1024 * 1024));
    await waitFor(() => raw.received().includes("\r\n\r\n{"));
    assert.equal(parseAnswer(raw.received()).status, 413);
    raw.socket.destroy();

    const flood = await rawConnect(sidecar, `POST /v1/events HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 100000000\r\n\r\n`);
    const chunk = "x".repeat(1024 * 1024);
    let sent = 0;
    let open = true;
    void flood.closed.then(() => (open = false));
    while (open && sent < 100) {
      await new Promise<void>((resolve) => {
        if (flood.socket.write(chunk)) return resolve();
        flood.socket.once("drain", resolve);
        flood.socket.once("close", resolve);
      });
      sent++;
    }
    await flood.closed;
    assert.ok(sent < 100, `the sidecar cut the connection after ${sent} MiB of a refused body`);
  });

  describe("/v1/stream floods", () => {
    it("a burst of 2 000 WebSocket pings gets 2 000 pongs and the socket stays open", async () => {
      const s = await openCalls(sidecar);
      let pongs = 0;
      s.ws.on("pong", () => pongs++);
      for (let i = 0; i < 2_000; i++) s.ws.ping();
      await waitFor(() => pongs === 2_000, 20_000);
      assert.equal(s.ws.readyState, WebSocket.OPEN);
      assert.equal((await s.call("after", "GET", "/v1/health")).status, 200);
      s.ws.close();
    });

    it(`calls past ${MAX_CALLS_PER_CONNECTION} in flight on one connection are answered 429 at once; the rest keep running`, async () => {
      const s = await openCalls(sidecar);
      const approvalId = (await s.call("open", "POST", "/v1/guardrails/evaluate", deploy)).body.approval_request.id;
      const extra = 50;
      for (let i = 0; i < MAX_CALLS_PER_CONNECTION + extra; i++) {
        s.send({ type: "call", id: i, method: "GET", path: `/v1/approvals/${approvalId}/wait?timeout=60000` });
      }
      await waitFor(() => s.replies.size >= extra + 1, 20_000);
      const refused = [...s.replies.values()].filter((r) => r.status === 429);
      assert.equal(refused.length, extra);
      assert.ok(refused.every((r) => r.body.error.code === "too_many_calls"));
      assert.deepEqual(refused.map((r) => r.id), Array.from({ length: extra }, (_, i) => MAX_CALLS_PER_CONNECTION + i));
      // Still served: a cancel frees a slot, and the freed slot takes a call again.
      s.send({ type: "cancel", id: 0 });
      assert.equal((await s.replyTo(0)).body.status, "timeout");
      assert.equal((await s.call("health", "GET", "/v1/health")).status, 200);
      s.ws.close();
      await stillServing();
    });

    it(`waits past ${MAX_WAITERS} held at once are refused 503 too_many_waiters`, async () => {
      const opener = await openCalls(sidecar);
      const approvalId = (await opener.call("open", "POST", "/v1/guardrails/evaluate", deploy)).body.approval_request.id;
      const connections = await Promise.all(Array.from({ length: Math.ceil(MAX_WAITERS / MAX_CALLS_PER_CONNECTION) }, () => openCalls(sidecar)));
      let sent = 0;
      for (const c of connections) {
        for (let i = 0; i < MAX_CALLS_PER_CONNECTION && sent < MAX_WAITERS; i++, sent++) {
          c.send({ type: "call", id: i, method: "GET", path: `/v1/approvals/${approvalId}/wait?timeout=60000` });
        }
      }
      // A ping round trip on each connection: every wait before it has been taken.
      await Promise.all(connections.map((c) => c.call("sync", "GET", "/v1/health")));
      const over = await opener.call("one-more", "GET", `/v1/approvals/${approvalId}/wait?timeout=60000`);
      assert.equal(over.status, 503);
      assert.equal(over.body.error.code, "too_many_waiters");
      for (const c of connections) c.ws.close();
      // Closed connections give their waits back.
      await waitFor(async () => (await opener.call(`again-${Date.now()}`, "GET", `/v1/approvals/${approvalId}/wait?timeout=1`)).status === 200, 10_000);
      opener.ws.close();
    });

    it(`connections past ${MAX_STREAM_CLIENTS} are refused 503 with a JSON error`, async () => {
      const url = sidecar.discovery.baseUrl.replace("http", "ws") + "/v1/stream";
      const headers = { authorization: `Bearer ${sidecar.discovery.apiKey}` };
      const open: WebSocket[] = [];
      try {
        for (let i = 0; i < MAX_STREAM_CLIENTS; i++) {
          const ws = new WebSocket(url, { headers });
          open.push(ws);
          await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
        }
        const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const ws = new WebSocket(url, { headers });
          ws.once("open", () => reject(new Error("the connection past the cap was accepted")));
          ws.once("unexpected-response", (_req, res) => {
            let body = "";
            res.on("data", (d: Buffer) => (body += d.toString()));
            res.on("end", () => resolve({ status: res.statusCode!, body }));
          });
        });
        assert.equal(refused.status, 503);
        assert.equal(JSON.parse(refused.body).error.code, "too_many_connections");
      } finally {
        for (const ws of open) ws.terminate();
      }
      await stillServing();
    });
  });
});
