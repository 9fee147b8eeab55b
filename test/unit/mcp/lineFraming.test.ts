import { strict as assert } from "node:assert";
import { Writable } from "node:stream";
import { JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js";
import { checkMessage, deliverLine, forgetLine, idAtEnd, LineReader, parseLine, scanFront, writeLine, WRITTEN, type OversizedLine } from "../../../sidecar/mcp/lineFraming";

/** The proxy's stdio framing: lines across chunks, the bound, and what the edges of an oversized line tell. */
describe("lineFraming", () => {
  function reader(max: number) {
    const lines: string[] = [];
    const oversized: OversizedLine[] = [];
    return { r: new LineReader(max, { line: (l) => lines.push(l), oversized: (o) => oversized.push(o) }), lines, oversized };
  }

  it("splits lines across chunks (a multi-byte character cut in two included), drops \\r and blank lines", () => {
    const { r, lines } = reader(1_000);
    const bytes = Buffer.from('{"a":"é"}\r\n\n{"b":1}\n{"c"');
    r.push(bytes.subarray(0, 7)); // inside "é"
    r.push(bytes.subarray(7));
    r.push(Buffer.from(":2}\n"));
    assert.deepEqual(lines, ['{"a":"é"}', '{"b":1}', '{"c":2}']);
  });

  it("a line over the bound is reported once with its length and the id found at its start or its end, and the next line is read", () => {
    const { r, lines, oversized } = reader(100);
    r.push(Buffer.from(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"x":"${"y".repeat(150)}`));
    r.push(Buffer.from(`${"y".repeat(150)}"}}\n{"ok":1}\n`));
    r.push(Buffer.from(`{"result":{"t":"${"z".repeat(300)}"},"jsonrpc":"2.0","id":"r-1"}\n`));
    assert.deepEqual(lines, ['{"ok":1}']);
    assert.deepEqual(
      oversized.map((o) => [o.id, o.method]),
      [
        [7, "tools/call"],
        ["r-1", undefined],
      ],
    );
    assert.equal(oversized[0]!.bytes, Buffer.byteLength(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"x":"${"y".repeat(300)}"}}`));
  });

  it("scanFront reads top-level members only: an id inside params is not the message's", () => {
    assert.deepEqual(scanFront('{"jsonrpc":"2.0","params":{"id":99,"s":"a\\"b"},"method":"m","id":3}'), { id: 3, method: "m" });
    assert.deepEqual(scanFront('{"jsonrpc":"2.0","params":{"id":99,"big":"unfinish'), { id: undefined, method: undefined });
    assert.deepEqual(scanFront('{"id":12'), { id: undefined, method: undefined }, "a number the edge cut may be longer");
    assert.equal(idAtEnd('{"result":{"x":{"id":1}}}'), undefined);
    assert.equal(idAtEnd('{"result":{},"id":42}  '), 42);
  });

  it("parseLine: the SDK's schema decides; an invalid message's readable id is kept for the answer", () => {
    assert.equal(parseLine('{"jsonrpc":"2.0","id":1,"method":"ping"}').ok, true);
    assert.deepEqual(parseLine("nope"), { ok: false, code: -32700, detail: parseLineDetail("nope"), id: undefined });
    assert.deepEqual(parseLine('{"jsonrpc":"1.0","id":5,"method":"ping"}'), { ok: false, code: -32600, detail: "not a JSON-RPC 2.0 message", id: 5 });
  });

  it("checkMessage answers as the SDK's JSONRPCMessageSchema does, for every kind of message and of misfit", () => {
    const cases: unknown[] = [
      { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", arguments: { message: "hi" } } },
      { jsonrpc: "2.0", id: "a", method: "ping" },
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: 1, progress: 1 } },
      { jsonrpc: "2.0", id: 1, result: { content: [{ type: "text", text: "hi" }] } },
      { jsonrpc: "2.0", id: 1, result: {} },
      { jsonrpc: "2.0", id: 1, error: { code: -32601, message: "no such method" } },
      { jsonrpc: "2.0", error: { code: -32700, message: "Parse error" } },
      { jsonrpc: "2.0", id: null, method: "ping" },
      { jsonrpc: "2.0", id: 1, method: 5 },
      { jsonrpc: "2.0", id: 1, method: "ping", result: {} },
      { jsonrpc: "2.0", id: 1, result: {}, error: { code: 1, message: "both" } },
      { jsonrpc: "2.0", id: 1, result: 5 },
      { jsonrpc: "2.0", id: 1, error: { code: 1.5, message: "x" } },
      { jsonrpc: "2.0", id: 1, method: "ping", extra: true },
      { jsonrpc: "1.0", id: 1, method: "ping" },
      { jsonrpc: "2.0", id: 1 },
      { jsonrpc: "2.0" },
      {},
      [],
      [{ jsonrpc: "2.0", method: "ping", id: 1 }],
      null,
      "text",
      42,
      // The hand-checked shapes' edges: ids, params and results the schema rejects or rewrites.
      { jsonrpc: "2.0", id: 2 ** 60, method: "ping" },
      { jsonrpc: "2.0", id: 1.5, result: {} },
      { jsonrpc: "2.0", id: -0, method: "ping" },
      { jsonrpc: "2.0", id: 1, method: "tools/call", params: [] },
      { jsonrpc: "2.0", id: 1, method: "tools/call", params: null },
      { jsonrpc: "2.0", id: 1, result: [] },
      { jsonrpc: "2.0", id: 1, result: null },
      { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "x", _meta: { progressToken: 1.5 } } },
      { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "x", _meta: { progressToken: "t" } } },
      { jsonrpc: "2.0", id: 1, result: { _meta: "not an object" } },
      { jsonrpc: "2.0", method: "notifications/message", params: { _meta: [] } },
      { jsonrpc: "2.0", id: 1, method: "ping", params: undefined },
      JSON.parse('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","__proto__":{"polluted":true}}}'),
      JSON.parse('{"jsonrpc":"2.0","id":1,"result":{"__proto__":{"isError":true},"content":[]}}'),
      JSON.parse('{"__proto__":{"x":1},"jsonrpc":"2.0","id":1,"method":"ping"}'),
    ];
    for (const json of cases) {
      const union = JSONRPCMessageSchema.safeParse(json);
      assert.deepEqual(checkMessage(json), union.success ? union.data : undefined, JSON.stringify(json));
    }
  });

  it("checkMessage agrees with the SDK's union on 5 000 generated messages, member by member and key by key", () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const pick = <T,>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
    const ids = [1, 0, -3, "a", "", 1.5, 2 ** 53, null, true, {}, undefined];
    const objects = [undefined, {}, { name: "echo", arguments: { message: "hi" } }, { _meta: {} }, { _meta: { progressToken: 1 } }, { _meta: { progressToken: [] } }, [], null, "x", 3];
    const keys = ["jsonrpc", "id", "method", "params", "result", "error", "extra"] as const;
    const values: Record<(typeof keys)[number], readonly unknown[]> = {
      jsonrpc: ["2.0", "1.0", 2, undefined],
      id: ids,
      method: ["tools/call", "notifications/progress", 7, undefined],
      params: objects,
      result: objects,
      error: [{ code: 1, message: "m" }, { code: 1.5, message: "m" }, { code: 1 }, null, undefined],
      extra: [undefined, undefined, undefined, 1],
    };
    for (let i = 0; i < 5_000; i++) {
      const json: Record<string, unknown> = {};
      for (const key of keys) {
        const value = pick(values[key]);
        if (value !== undefined || random() < 0.1) json[key] = value;
      }
      const union = JSONRPCMessageSchema.safeParse(json);
      assert.deepEqual(checkMessage(json), union.success ? union.data : undefined, JSON.stringify(json));
    }
  });
});

describe("writeLine", () => {
  /** A pipe whose reader took nothing yet: every write stays pending until `release`. */
  function fullPipe(): { stream: Writable; release: () => void } {
    const waiting: (() => void)[] = [];
    const stream = new Writable({ highWaterMark: 1, write: (_chunk, _encoding, callback) => void waiting.push(() => callback()) });
    return { stream, release: () => waiting.splice(0).forEach((callback) => callback()) };
  }
  const message = { jsonrpc: "2.0" as const, id: 1, method: "ping" };

  it("resolves when a full pipe drains", async () => {
    const { stream, release } = fullPipe();
    let settled = false;
    const sent = writeLine(stream, message).then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, "resolved before the pipe drained");
    release();
    await sent;
  });

  it("rejects when the pipe closes before draining (its reader gone), and leaves no listener behind", async () => {
    const { stream } = fullPipe();
    const sent = writeLine(stream, message);
    stream.destroy();
    await assert.rejects(sent, /closed before it took the message/);
    assert.deepEqual([stream.listenerCount("drain"), stream.listenerCount("close")], [0, 0]);
  });
});

describe("forwarding a line unchanged", () => {
  /** A stdio pump in miniature: every line read is checked and written on at once, as the proxy forwards an answer. */
  function relay(options: { forget?: boolean } = {}) {
    const written: (Buffer | string)[] = [];
    const out = new Writable({ decodeStrings: false, write: (chunk: Buffer | string, _encoding, callback) => void (written.push(chunk), callback()) });
    const sends: Promise<void>[] = [];
    const reader = new LineReader(1_000, {
      line: (text) => {
        const parsed = parseLine(text);
        assert.ok(parsed.ok, text);
        deliverLine(parsed.message, text, (message) => {
          if (options.forget) forgetLine(message);
          sends.push(writeLine(out, message));
        });
      },
      oversized: () => assert.fail("no line is over the bound"),
    });
    return { reader, written, sends };
  }
  const answer = '{ "id" : 7,"result":{ "b":1, "a":"\u00e9 é" } , "jsonrpc":"2.0" }\n';

  it("writes the very bytes it read, without building or encoding a string again, and answers with the shared resolved promise", () => {
    const { reader, written, sends } = relay();
    const chunk = Buffer.from(answer + answer);
    reader.push(chunk);
    assert.equal(written.length, 2);
    for (const line of written) {
      assert.ok(Buffer.isBuffer(line), "the read bytes, not a string");
      assert.equal(line.toString("utf8"), answer);
      assert.equal(line.buffer, chunk.buffer, "a view of the chunk it was read in");
    }
    assert.deepEqual(sends, [WRITTEN, WRITTEN]);
  });

  it("writes the text it checked when the bytes are not UTF-8 (read as U+FFFD), the line came in pieces, or ended in \\r\\n", () => {
    const { reader, written } = relay();
    const invalid = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"result":{"t":"'), Buffer.from([0xff, 0xc3]), Buffer.from('"}}\n')]);
    reader.push(invalid);
    const split = Buffer.from(answer);
    reader.push(split.subarray(0, 40)); // inside nothing in particular: the line is held across chunks
    reader.push(split.subarray(40));
    reader.push(Buffer.from(answer.replace("\n", "\r\n")));
    assert.deepEqual(
      written.map((line) => (typeof line === "string" ? line : `bytes: ${line.toString("utf8")}`)),
      ['{"jsonrpc":"2.0","id":1,"result":{"t":"\ufffd\ufffd"}}\n', answer, answer],
    );
  });

  it("serializes a message the pump forgot the line of (what a guard decided on goes as parsed)", () => {
    const { reader, written } = relay({ forget: true });
    reader.push(Buffer.from(answer));
    assert.deepEqual(written, ['{"id":7,"result":{"b":1,"a":"é é"},"jsonrpc":"2.0"}\n']);
  });
});

function parseLineDetail(text: string): string {
  try {
    JSON.parse(text);
    return "";
  } catch (error) {
    return (error as Error).message;
  }
}
