import { strict as assert } from "node:assert";
import { ToolMetadataTable } from "../../../sidecar/mcp/toolMetadata";

describe("mcp: per-tool metadata by name or glob", () => {
  const table = new ToolMetadataTable([
    { pattern: "write_file", metadata: { action: { type: "update" }, resource: { type: "file" }, riskLevel: "high" } },
    { pattern: "write_*", metadata: { action: { type: "create" }, riskLevel: "medium" } },
    { pattern: "{delete,remove}_*", metadata: { action: { type: "delete" }, riskLevel: "critical" } },
    { pattern: "read_?ile", metadata: { riskLevel: "low" } },
  ]);

  it("the first matching entry in file order wins, exact names and globs alike", () => {
    assert.equal(table.lookup("write_file")?.riskLevel, "high");
    assert.equal(table.lookup("write_file")?.resource?.type, "file");
    assert.equal(table.lookup("write_config")?.action?.type, "create");
    assert.equal(table.lookup("delete_branch")?.riskLevel, "critical");
    assert.equal(table.lookup("remove_user")?.action?.type, "delete");
    assert.equal(table.lookup("read_file")?.riskLevel, "low");
  });

  it("no match → undefined (the sidecar infers), also for near misses", () => {
    for (const name of ["list_directory", "rewrite_file", "read_files", "Write_file", "undelete_x"]) assert.equal(table.lookup(name), undefined, name);
    assert.equal(new ToolMetadataTable([]).lookup("anything"), undefined);
  });

  it("answers from its cache the same as the first time", () => {
    assert.equal(table.lookup("write_config"), table.lookup("write_config"));
    assert.equal(table.lookup("nope"), undefined);
    assert.equal(table.lookup("nope"), undefined);
  });
});
