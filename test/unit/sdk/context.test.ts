import { strict as assert } from "node:assert";
import { currentRunContext, resolveRunId, resolveSessionId, withRunContext } from "../../../sidecar/sdk/context";

const tick = () => new Promise((r) => setTimeout(r, 1));

describe("sdk run context (AsyncLocalStorage)", () => {
  it("is empty outside any run", () => {
    assert.deepEqual(currentRunContext(), {});
    assert.equal(resolveRunId(), undefined);
  });

  it("follows the callback across awaits; an explicit id wins", async () => {
    await withRunContext({ runId: "run_1" }, async () => {
      await tick();
      assert.equal(resolveRunId(), "run_1");
      assert.equal(resolveRunId("run_explicit"), "run_explicit");
    });
    assert.equal(resolveRunId(), undefined);
  });

  it("nests: an inner run keeps the outer session", async () => {
    await withRunContext({ sessionId: "ses_1" }, async () => {
      await withRunContext({ runId: "run_2" }, async () => {
        await tick();
        assert.deepEqual(currentRunContext(), { sessionId: "ses_1", runId: "run_2" });
      });
      assert.deepEqual(currentRunContext(), { sessionId: "ses_1" });
      assert.equal(resolveSessionId(), "ses_1");
    });
  });

  it("keeps concurrent runs apart", async () => {
    const seen: string[] = [];
    await Promise.all(
      ["a", "b", "c"].map((id) =>
        withRunContext({ runId: id }, async () => {
          await tick();
          seen.push(`${id}=${resolveRunId()}`);
        }),
      ),
    );
    assert.deepEqual(seen.sort(), ["a=a", "b=b", "c=c"]);
  });
});
