import { strict as assert } from "node:assert";
import { parseResponse } from "../../../sidecar/hooks/hookHttp";

/** The hook's hand-written HTTP/1.1 response reader (hookHttp.ts). */
describe("hooks: reading the sidecar's HTTP answer", () => {
  const b = (text: string): Buffer => Buffer.from(text, "utf8");

  it("a content-length answer is whole once its body has arrived, not before", () => {
    const full = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 10\r\n\r\n{\"a\":\"é\"}";
    assert.deepEqual(parseResponse(b(full), false), { status: 200, json: { a: "é" } });
    assert.equal(parseResponse(b(full.slice(0, -3)), false), undefined);
    assert.equal(parseResponse(b("HTTP/1.1 200 OK\r\ncontent-le"), false), undefined);
    assert.deepEqual(parseResponse(b(full.slice(0, -3)), true), { status: 200, json: undefined }, "cut off: no decision");
  });

  it("chunked answers, error statuses, bodies that are not JSON, garbage", () => {
    assert.deepEqual(parseResponse(b('HTTP/1.1 400 Bad Request\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n'), false), { status: 400, json: { a: 1 } });
    assert.equal(parseResponse(b('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{"a":\r\n'), false), undefined);
    assert.deepEqual(parseResponse(b("HTTP/1.1 500 Internal\r\ncontent-length: 5\r\n\r\noops!"), false), { status: 500, json: undefined });
    assert.deepEqual(parseResponse(b("SSH-2.0-OpenSSH\r\n\r\n"), false), { status: 0, json: undefined });
    assert.deepEqual(parseResponse(b("HTTP/1.0 200 OK\r\n\r\n{}"), true), { status: 200, json: {} }, "no length: until the connection closes");
    assert.deepEqual(parseResponse(b('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}'), false), { status: 200, json: {} }, "an interim 100 is skipped");
    assert.equal(parseResponse(b("HTTP/1.1 100 Continue\r\n\r\n"), false), undefined);
    assert.equal(parseResponse(b("HTTP/1.0 200 OK\r\n\r\n{}"), false), undefined);
  });
});
