import { strict as assert } from "node:assert";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  checkUpstreamCommand,
  compileToolPattern,
  formatMcpConfigError,
  loadMcpConfigFile,
  loadMcpConfigText,
  loadMcpServerConfig,
  McpConfigFileError,
  toolPatternProblem,
  type McpConfigIssue,
  type McpConfigLoadOptions,
} from "../../../sidecar/mcp/configLoader";
import { mcpConfigJsonSchema } from "../../../sidecar/mcp/configJsonSchema";
import type { McpServerConfig } from "../../../sidecar/mcp/configSchema";
import { positionOf } from "../../support/textPosition";

const FILE = path.join("ws", "apie.mcp.json");
const FOLDER = path.resolve("ws");

function serversOf(text: string, options?: McpConfigLoadOptions): McpServerConfig[] {
  const result = loadMcpConfigText(text, FILE, options);
  assert.ok(result.ok, `expected the config to load:\n${result.ok ? "" : result.errors.map(formatMcpConfigError).join("\n")}`);
  return result.servers;
}

function errorsOf(text: string, options?: McpConfigLoadOptions): McpConfigIssue[] {
  const result = loadMcpConfigText(text, FILE, options);
  assert.equal(result.ok, false, "expected the config to be rejected");
  return result.ok ? [] : result.errors;
}

const at = (e: McpConfigIssue | undefined) => ({ line: e?.line, column: e?.column });
const json = (value: unknown) => JSON.stringify(value, null, 2);

describe("apie.mcp.json loader", () => {
  it("a single server: defaults applied, cwd is the config's folder", () => {
    const [s] = serversOf(json({ agentKey: "agent", serverName: "filesystem", upstream: { command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"] } }));
    assert.deepEqual(s, {
      serverName: "filesystem",
      agentKey: "agent",
      agentName: undefined,
      mode: "monitor",
      environment: undefined,
      upstream: { command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"], cwd: FOLDER },
      redactKeys: [],
      approvalTimeoutMs: 300_000,
      guardFailureMode: "fail_open",
      refusal: "jsonrpc_error",
      tools: [],
    });
  });

  it("Apie's documented example loads as written (releaseMode monitor)", () => {
    const [s] = serversOf(
      json({
        agentKey: "incident-remediation-agent",
        serverName: "filesystem",
        releaseMode: "monitor",
        environment: "development",
        upstream: { command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"] },
        redactKeys: ["token", "password", "secret"],
      }),
    );
    assert.equal(s!.mode, "monitor");
    assert.deepEqual(s!.redactKeys, ["token", "password", "secret"]);
  });

  it("several servers inherit the top level; each entry's own fields win", () => {
    const text = json({
      agentKey: "my-agent",
      mode: "monitor",
      environment: "production",
      redactKeys: ["token"],
      tools: { "write_*": { riskLevel: "high" } },
      servers: {
        filesystem: { upstream: { command: "npx", args: ["fs"], cwd: "sub" } },
        github: { agentKey: "gh-agent", mode: "enforce", upstream: { command: "./bin/github-mcp" }, tools: { create_issue: { action: { type: "write" } } } },
      },
    });
    const [fs, gh] = serversOf(text);
    assert.equal(fs!.serverName, "filesystem");
    assert.equal(fs!.agentKey, "my-agent");
    assert.equal(fs!.mode, "monitor");
    assert.equal(fs!.environment, "production");
    assert.deepEqual(fs!.redactKeys, ["token"]);
    assert.deepEqual(fs!.tools, [{ pattern: "write_*", metadata: { riskLevel: "high" } }]);
    assert.deepEqual(fs!.upstream, { command: "npx", args: ["fs"], cwd: path.join(FOLDER, "sub") });
    assert.equal(gh!.serverName, "github");
    assert.equal(gh!.agentKey, "gh-agent");
    assert.equal(gh!.mode, "enforce");
    assert.equal(gh!.environment, "production");
    assert.deepEqual(gh!.tools, [{ pattern: "create_issue", metadata: { action: { type: "write" } } }]);
    // A command given as a path is relative to the config's folder.
    assert.deepEqual(gh!.upstream, { command: path.join(FOLDER, "bin/github-mcp"), cwd: FOLDER });
    // --server picks one.
    assert.deepEqual(serversOf(text, { server: "github", selectOne: true }).map((s) => s.serverName), ["github"]);
  });

  it("--server selection: several servers need one; an unknown name lists the servers; a mismatch is named", () => {
    const text = json({ agentKey: "a", servers: { filesystem: { upstream: { command: "x" } }, github: { upstream: { command: "y" } } } });
    const [none] = errorsOf(text, { selectOne: true });
    assert.equal(none!.field, "servers");
    assert.match(none!.message, /several servers \(filesystem, github\); choose one with --server NAME/);
    assert.deepEqual(at(none), positionOf(text, "{\n    \"filesystem\""));
    const [unknown] = errorsOf(text, { server: "gitlab" });
    assert.match(unknown!.message, /no server "gitlab" in apie\.mcp\.json \(servers: filesystem, github\)/);
    // The top-level serverName is the default server; it must be one of them.
    const withDefault = json({ agentKey: "a", serverName: "github", servers: { filesystem: { upstream: { command: "x" } }, github: { upstream: { command: "y" } } } });
    assert.deepEqual(serversOf(withDefault, { selectOne: true }).map((s) => s.serverName), ["github"]);
    const badDefault = json({ agentKey: "a", serverName: "gitlab", servers: { github: { upstream: { command: "y" } } } });
    assert.match(errorsOf(badDefault)[0]!.message, /no server "gitlab"/);
    const single = json({ agentKey: "a", serverName: "filesystem", upstream: { command: "x" } });
    const [mismatch] = errorsOf(single, { server: "github" });
    assert.equal(mismatch!.field, "serverName");
    assert.deepEqual(at(mismatch), positionOf(single, '"filesystem"'));
    assert.match(mismatch!.message, /--server github does not match serverName "filesystem"/);
  });

  it('legacy releaseMode "guard" is an error at that field, once, telling to use mode: "enforce"', () => {
    const text = '{\n  "agentKey": "a",\n  "serverName": "fs",\n  "releaseMode": "guard",\n  "upstream": {"command": "npx"}\n}';
    const errors = errorsOf(text);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.field, "releaseMode");
    assert.deepEqual(at(errors[0]), positionOf(text, '"guard"'));
    assert.equal(formatMcpConfigError(errors[0]!), `${FILE}:4:18: releaseMode: releaseMode "guard" is no longer supported: use mode: "enforce"`);
    // Inherited by two servers: still one error, at the top-level field.
    const multi = json({ agentKey: "a", releaseMode: "guard", servers: { a: { upstream: { command: "x" } }, b: { upstream: { command: "y" } } } });
    const inherited = errorsOf(multi);
    assert.deepEqual(inherited.map((e) => e.field), ["releaseMode"]);
    // In an entry.
    const entry = json({ agentKey: "a", servers: { a: { releaseMode: "guard", upstream: { command: "x" } } } });
    assert.deepEqual(errorsOf(entry).map((e) => e.field), ["servers.a.releaseMode"]);
    // Reported alongside schema errors, so one run shows everything.
    const withTypo = errorsOf(json({ agentKey: "a", serverName: "s", releaseMode: "guard", upstrem: {} }));
    assert.deepEqual(withTypo.map((e) => e.field), ["releaseMode", "upstrem"]);
    // releaseMode and mode both set and different: mode wins, with a warning.
    const both = loadMcpConfigText(json({ agentKey: "a", serverName: "s", mode: "enforce", releaseMode: "monitor", upstream: { command: "x" } }), FILE);
    assert.ok(both.ok);
    assert.equal(both.servers[0]!.mode, "enforce");
    assert.deepEqual(both.warnings.map((w) => [w.field, w.severity]), [["releaseMode", "warning"]]);
  });

  it("an unknown field is named at its key with a did-you-mean", () => {
    const text = '{\n  "agentKey": "a",\n  "serverName": "fs",\n  "upstrem": {"command": "npx"}\n}';
    const errors = errorsOf(text);
    assert.equal(errors.length, 1);
    assert.deepEqual(at(errors[0]), { line: 4, column: 3 });
    assert.equal(errors[0]!.field, "upstrem");
    assert.equal(errors[0]!.length, '"upstrem"'.length);
    assert.equal(errors[0]!.severity, "error");
    assert.equal(formatMcpConfigError(errors[0]!), `${FILE}:4:3: upstrem: unknown field "upstrem"; did you mean "upstream"?`);

    const snake = '{\n  "agent_key": "a",\n  "serverName": "fs",\n  "upstream": {"command": "npx"}\n}';
    const [e] = errorsOf(snake);
    assert.deepEqual(at(e), { line: 2, column: 3 });
    assert.match(e!.message, /unknown field "agent_key"; did you mean "agentKey"\?/);

    // Inside upstream, inside a servers entry, inside tools.
    const nested = json({ agentKey: "a", servers: { fs: { upstream: { command: "x", agrs: [] }, tools: { t: { riskLvel: "high" } } } } });
    const nestedErrors = errorsOf(nested);
    assert.deepEqual(nestedErrors.map((x) => x.field), ["servers.fs.upstream.agrs", "servers.fs.tools.t.riskLvel"]);
    assert.match(nestedErrors[0]!.message, /did you mean "args"\?/);
    assert.match(nestedErrors[1]!.message, /did you mean "riskLevel"\?/);
    assert.deepEqual(at(nestedErrors[0]), positionOf(nested, '"agrs"'));

    // Fields that belong inside upstream, and an MCP host's mcpServers.
    assert.match(errorsOf('{"agentKey": "a", "serverName": "s", "command": "npx"}')[0]!.message, /belongs inside "upstream"/);
    assert.match(errorsOf('{"mcpServers": {}}')[0]!.message, /under "servers"/);
    // No suggestion for something unlike any field.
    assert.equal(errorsOf('{"agentKey": "a", "serverName": "s", "upstream": {"command": "x"}, "zzzzzzzz": 1}')[0]!.message, 'unknown field "zzzzzzzz"');
  });

  it("wrong types name the field at its value; every error is reported, in file order", () => {
    const text = '{\n  "agentKey": 5,\n  "serverName": "fs",\n  "mode": "enforced",\n  "approvalTimeoutMs": -1,\n  "upstream": {"command": "npx", "args": "-y"}\n}';
    const errors = errorsOf(text);
    assert.deepEqual(
      errors.map((e) => [e.field, e.line]),
      [["agentKey", 2], ["mode", 4], ["approvalTimeoutMs", 5], ["upstream.args", 6]],
    );
    assert.deepEqual(at(errors[1]), positionOf(text, '"enforced"'));
    assert.match(errors[1]!.message, /monitor.*enforce/);
    assert.deepEqual(at(errors[3]), positionOf(text, '"-y"'));
  });

  it("what goes into every guard request is bounded as the sidecar bounds it (256 characters), named at the field", () => {
    const long = "x".repeat(257);
    const text = json({
      agentKey: long,
      agentName: long,
      serverName: long,
      environment: long,
      upstream: { command: "npx" },
      tools: { echo: { action: { type: long, name: long }, resource: { type: long, environment: long, externalId: long } } },
    });
    const errors = errorsOf(text);
    assert.deepEqual(
      errors.map((e) => e.field),
      ["agentKey", "agentName", "serverName", "environment", "tools.echo.action.type", "tools.echo.action.name", "tools.echo.resource.type", "tools.echo.resource.environment", "tools.echo.resource.externalId"],
    );
    for (const error of errors) assert.match(error.message, /256/);
    // At the bound itself, the config loads.
    const atBound = "x".repeat(256);
    const [server] = serversOf(json({ agentKey: atBound, serverName: "fs", environment: atBound, upstream: { command: "npx" }, tools: { echo: { resource: { type: "doc", externalId: atBound } } } }));
    assert.equal(server?.environment, atBound);
    // The editor's schema says the same.
    const schema = JSON.stringify(mcpConfigJsonSchema());
    assert.match(schema, /"maxLength":256/);
  });

  it("sessionIdleTimeoutMs and maxSessions (for --transport http) load, inherit, and are checked", () => {
    const servers = serversOf(
      json({ agentKey: "a", sessionIdleTimeoutMs: 60_000, upstream: { command: "npx" }, servers: { fs: { maxSessions: 8 }, git: { sessionIdleTimeoutMs: 5_000 } } }),
      { server: "fs" },
    );
    assert.deepEqual([servers[0]?.sessionIdleTimeoutMs, servers[0]?.maxSessions], [60_000, 8]);
    const errors = errorsOf(json({ agentKey: "a", serverName: "fs", upstream: { command: "npx" }, sessionIdleTimeoutMs: 0, maxSessions: 10_001 }));
    assert.deepEqual(errors.map((e) => e.field), ["sessionIdleTimeoutMs", "maxSessions"]);
  });

  it("an upstream that is neither {command} nor {url} says what is expected", () => {
    const cases: [unknown, RegExp][] = [
      [{}, /missing "command" or "url"/],
      [{ command: "x", url: "http://localhost:1/mcp" }, /either "command".*or "url".*not both/],
      ["npx server", /expected an object/],
      [{ url: "ftp://example.com" }, /URL/i],
    ];
    for (const [upstream, message] of cases) {
      const [e] = errorsOf(json({ agentKey: "a", serverName: "s", upstream }));
      assert.match(e!.field, /^upstream/);
      assert.match(e!.message, message);
    }
  });

  it("duplicate keys are errors at the second key", () => {
    const text = '{\n  "agentKey": "a",\n  "agentKey": "b",\n  "serverName": "s",\n  "upstream": {"command": "x"}\n}';
    const [e] = errorsOf(text);
    assert.deepEqual(at(e), { line: 3, column: 3 });
    assert.match(e!.message, /duplicate key "agentKey"/);
    const nested = '{"agentKey": "a", "servers": {"fs": {"upstream": {"command": "x"}}, "fs": {"upstream": {"command": "y"}}}}';
    const [n] = errorsOf(nested);
    assert.equal(n!.field, "servers.fs");
    assert.equal(n!.offset, nested.lastIndexOf('"fs"'));
  });

  it("colliding server names: same name in another case, or the same tool namespace", () => {
    const text = json({
      agentKey: "a",
      servers: {
        github: { upstream: { command: "x" } },
        GitHub: { upstream: { command: "y" } },
        gh: { serverName: "github", upstream: { command: "z" } },
      },
    });
    const errors = errorsOf(text);
    assert.deepEqual(errors.map((e) => e.field), ["servers.GitHub", "servers.gh.serverName"]);
    assert.deepEqual(at(errors[0]), positionOf(text, '"GitHub"'));
    assert.match(errors[0]!.message, /"GitHub" collides with "github"/);
    assert.match(errors[1]!.message, /namespace "github" of server "github"/);
  });

  it("bad tool globs are errors at the key; good ones compile to the matcher the proxy uses", () => {
    const text = json({ agentKey: "a", serverName: "s", upstream: { command: "x" }, tools: { "write_*": {}, "[ab": {}, "{read,list": {}, "x}": {}, " t": {} } });
    const errors = errorsOf(text);
    assert.deepEqual(errors.map((e) => e.field), ['tools["[ab"]', 'tools["{read,list"]', 'tools["x}"]', 'tools[" t"]']);
    assert.deepEqual(at(errors[0]), positionOf(text, '"[ab"'));
    assert.match(errors[0]!.message, /invalid tool glob "\[ab": "\[" at 1 is never closed/);
    assert.match(errors[1]!.message, /"\{" is never closed/);

    assert.equal(toolPatternProblem("write_*"), undefined);
    assert.equal(toolPatternProblem("{read,list}_*"), undefined);
    assert.equal(toolPatternProblem("get_[ab]"), undefined);
    assert.match(toolPatternProblem("")!, /empty/);
    const m = compileToolPattern("{read,list}_*");
    assert.ok(m("read_file") && m("list_directory") && !m("write_file"));
    const exact = compileToolPattern("read_file");
    assert.ok(exact("read_file") && !exact("read_files"));
    assert.ok(compileToolPattern("fs.*")("fs.read"));
    assert.throws(() => compileToolPattern("[ab"), /never closed/);
  });

  it("a url upstream (Streamable HTTP) with headers", () => {
    const [s] = serversOf(json({ agentKey: "a", serverName: "remote", upstream: { url: "http://127.0.0.1:3001/mcp", headers: { Authorization: "Bearer x" } } }));
    assert.deepEqual(s!.upstream, { url: "http://127.0.0.1:3001/mcp", headers: { Authorization: "Bearer x" } });
  });

  it("missing agentKey, upstream or serverName are named (on the object that should hold them)", () => {
    const text = json({ servers: { a: { upstream: { command: "x" } }, b: { agentKey: "k" } } });
    const errors = errorsOf(text);
    assert.deepEqual(errors.map((e) => e.field), ["servers.a.agentKey", "servers.b.upstream"]);
    assert.match(errors[0]!.message, /required: the agent key/);
    assert.match(errors[1]!.message, /required: \{command, args\} or \{url\}/);
    assert.deepEqual(at(errors[1]), positionOf(text, '{\n      "agentKey": "k"'));
    const [noName] = errorsOf(json({ agentKey: "k", upstream: { command: "x" } }));
    assert.equal(noName!.field, "serverName");
    // --server supplies the namespace of a single-server file.
    assert.equal(serversOf(json({ agentKey: "k", upstream: { command: "x" } }), { server: "fs" })[0]!.serverName, "fs");
    const [noAgent] = errorsOf(json({ serverName: "s", upstream: { command: "x" } }));
    assert.equal(noAgent!.field, "agentKey");
    assert.deepEqual({ line: noAgent!.line, column: noAgent!.column }, { line: 1, column: 1 });
  });

  it("syntax errors, comments and an empty file are errors with positions", () => {
    const [syntax] = errorsOf('{\n  "agentKey": "a",\n  "serverName": \n}');
    assert.equal(syntax!.line, 4);
    assert.match(syntax!.message, /JSON syntax error/);
    assert.match(errorsOf('{ // hi\n}')[0]!.message, /syntax error/);
    assert.match(errorsOf("")[0]!.message, /empty|syntax/);
  });

  it("the generated JSON Schema is strict and knows both kinds of upstream", () => {
    const schema = mcpConfigJsonSchema() as {
      title: string;
      additionalProperties: boolean;
      properties: { upstream: { anyOf: { required: string[] }[] }; servers: { additionalProperties: { properties: Record<string, unknown> } } };
    };
    assert.equal(schema.title, "apie.mcp.json");
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(schema.properties.upstream.anyOf.map((b) => b.required), [["command"], ["url"]]);
    assert.ok("agentKey" in schema.properties.servers.additionalProperties.properties);
  });

  describe("files and the upstream command", () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), "apie-mcp-config-"));
      mkdirSync(path.join(dir, "bin"));
      writeFileSync(path.join(dir, "bin", "server"), "#!/bin/sh\n");
      chmodSync(path.join(dir, "bin", "server"), 0o755);
      writeFileSync(path.join(dir, "bin", "plain"), "not executable\n");
      chmodSync(path.join(dir, "bin", "plain"), 0o644);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("loadMcpServerConfig returns the one server, or throws the first error formatted", async () => {
      const file = path.join(dir, "apie.mcp.json");
      writeFileSync(file, json({ agentKey: "a", servers: { fs: { upstream: { command: "./bin/server", cwd: "bin" } }, gh: { upstream: { url: "http://127.0.0.1:1/mcp" } } } }));
      const fs = await loadMcpServerConfig(file, "fs");
      assert.deepEqual(fs.upstream, { command: path.join(dir, "bin", "server"), cwd: path.join(dir, "bin") });
      await assert.rejects(loadMcpServerConfig(file), (error: unknown) => {
        assert.ok(error instanceof McpConfigFileError);
        assert.equal(error.message, `${file}:3:14: servers: apie.mcp.json lists several servers (fs, gh); choose one with --server NAME`);
        assert.equal(error.errors.length, 1);
        return true;
      });
      writeFileSync(file, '{\n  "agentKey": "a",\n  "serverName": "s",\n  "upstrem": {"command": "x"}\n}');
      await assert.rejects(loadMcpServerConfig(file), new RegExp(`apie\\.mcp\\.json:4:3: upstrem: unknown field "upstrem"; did you mean "upstream"\\?$`));
      await assert.rejects(loadMcpServerConfig(path.join(dir, "nope.json")), /nope\.json:1:1: no such file/);
      const missing = await loadMcpConfigFile(path.join(dir, "nope.json"));
      assert.equal(missing.ok, false);
    });

    it("checkUpstreamCommand warns, at upstream.command, about commands not on PATH or missing relative to the file", async () => {
      const file = path.join(dir, "apie.mcp.json");
      const text = json({
        agentKey: "a",
        servers: {
          node: { upstream: { command: "node" } },
          ghost: { upstream: { command: "apie-no-such-mcp-server" } },
          relative: { upstream: { command: "./bin/server" } },
          gone: { upstream: { command: "./bin/gone" } },
          plain: { upstream: { command: "bin/plain" } },
          ownPath: { upstream: { command: "server", env: { PATH: path.join(dir, "bin") } } },
          badCwd: { upstream: { command: "node", cwd: "no-such-dir" } },
          remote: { upstream: { url: "http://127.0.0.1:1/mcp" } },
        },
      });
      const result = loadMcpConfigText(text, file);
      assert.ok(result.ok);
      const env = { PATH: path.dirname(process.execPath) };
      const warnings = await checkUpstreamCommand(result, { env });
      assert.deepEqual(
        warnings.map((w) => [w.field, w.severity]),
        [
          ["servers.ghost.upstream.command", "warning"],
          ["servers.gone.upstream.command", "warning"],
          ["servers.plain.upstream.command", "warning"],
          ["servers.badCwd.upstream.cwd", "warning"],
        ],
      );
      assert.deepEqual(at(warnings[0]), positionOf(text, '"apie-no-such-mcp-server"'));
      assert.match(warnings[0]!.message, /upstream command "apie-no-such-mcp-server" was not found on PATH/);
      assert.match(warnings[1]!.message, new RegExp(`"./bin/gone" does not exist \\(${path.join(dir, "bin", "gone").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\)`));
      assert.match(warnings[2]!.message, /not executable/);
      assert.match(warnings[3]!.message, /is not a folder/);
      // A broken file is still checked as far as its tree goes (the editor shows both).
      const broken = loadMcpConfigText('{"upstrem": 1, "upstream": {"command": "apie-no-such-mcp-server"}}', file);
      assert.equal(broken.ok, false);
      assert.equal((await checkUpstreamCommand(broken, { env })).length, 1);
    });
  });
});
