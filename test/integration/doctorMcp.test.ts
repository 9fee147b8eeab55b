import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { CLI, startSidecarProcess, type SidecarUnderTest } from "./sidecarProcess";

/** The reference MCP server from npm; `stdio` (its default) or `streamableHttp` (port from PORT). */
const EVERYTHING = path.resolve(__dirname, "../../node_modules/@modelcontextprotocol/server-everything/dist/index.js");

/** Runs the built CLI as a user's shell would; APIE_* variables come only from `env`. `node` is on PATH. */
function apie(args: string[], options: { cwd: string; env?: Record<string, string> }) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("APIE_")));
  base.PATH = [path.dirname(process.execPath), base.PATH].filter(Boolean).join(path.delimiter);
  const started = Date.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: options.cwd, env: { ...base, ...options.env }, encoding: "utf8", timeout: 40_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("apie doctor --mcp (real sidecar, real MCP servers)", function () {
  this.timeout(60_000);
  let workspace: string;
  let sidecar: SidecarUnderTest;
  const env = () => ({ APIE_BASE_URL: sidecar.discovery.baseUrl, APIE_ADMIN_KEY: sidecar.discovery.adminKey });
  const write = (name: string, config: unknown) => {
    const file = path.join(workspace, name);
    writeFileSync(file, typeof config === "string" ? config : JSON.stringify(config, null, 2));
    return file;
  };
  const everything = { command: "node", args: [EVERYTHING, "stdio"] };

  before(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "apie-doctor-mcp-"));
    writeFileSync(path.join(workspace, "apie.policy.json"), JSON.stringify({ templates: { "prod-deploys": true } }));
    sidecar = await startSidecarProcess(workspace);
  });
  after(async () => {
    await sidecar?.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  it("starts server-everything over stdio, lists its tools, checks the sidecar, exit 0", () => {
    write("apie.mcp.json", { agentKey: "doctor-agent", serverName: "everything", mode: "enforce", upstream: everything });
    const r = apie(["doctor", "--mcp"], { cwd: workspace, env: env() });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^✓ mcp config: apie\.mcp\.json is valid \(server: everything\)$/m);
    assert.match(r.stdout, /^✓ mcp upstream everything: `node .*server-everything\/dist\/index\.js stdio` \(.*everything.*\) answered: \d+ tools in [\d.]+ s$/m);
    assert.match(r.stdout, /^ {4}echo, /m);
    for (const check of ["policy file", "sidecar", "key", "sidecar policy", "mode", "approvals", "event log"]) {
      assert.match(r.stdout, new RegExp(`^✓ ${check}: `, "m"), `${check} in\n${r.stdout}`);
    }
    assert.match(r.stdout, /all checks passed/);

    const json = JSON.parse(apie(["doctor", "--mcp", "--json"], { cwd: workspace, env: env() }).stdout) as { ok: boolean; checks: { name: string; status: string; tools?: string[] }[] };
    assert.equal(json.ok, true);
    const upstream = json.checks.find((c) => c.name === "mcp upstream everything");
    assert.equal(upstream?.status, "ok");
    assert.ok(upstream?.tools?.includes("echo"), JSON.stringify(upstream));
    assert.ok(json.checks.some((c) => c.name === "sidecar" && c.status === "ok"));
  });

  it("without --mcp, an apie.mcp.json next to the policy is only validated", () => {
    write("apie.mcp.json", { agentKey: "doctor-agent", serverName: "everything", upstream: everything });
    const r = apie(["doctor"], { cwd: workspace, env: env() });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^✓ mcp config: apie\.mcp\.json is valid \(server: everything\); `apie doctor --mcp` also starts/m);
    assert.doesNotMatch(r.stdout, /mcp upstream/);
  });

  it("a broken file: exit 1, each error as file:line:column: field: message, nothing started", () => {
    const file = write("broken.mcp.json", '{\n  "agentKey": "a",\n  "serverName": "everything",\n  "releaseMode": "guard",\n  "upstrem": {"command": "node"}\n}\n');
    const r = apie(["doctor", "--mcp-config", file], { cwd: workspace, env: env() });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^✗ mcp config: .*broken\.mcp\.json has 2 errors$/m);
    assert.ok(r.stdout.includes(`    ${file}:4:18: releaseMode: releaseMode "guard" is no longer supported: use mode: "enforce"\n`), r.stdout);
    assert.ok(r.stdout.includes(`    ${file}:5:3: upstrem: unknown field "upstrem"; did you mean "upstream"?\n`), r.stdout);
    assert.doesNotMatch(r.stdout, /mcp upstream/);
    assert.match(r.stdout, /1 check failed/);
  });

  it("an upstream command that does not exist: exit 1 naming it and where it is set", () => {
    const text = '{\n  "agentKey": "a",\n  "serverName": "ghost",\n  "upstream": { "command": "apie-no-such-mcp-server", "args": ["--stdio"] }\n}\n';
    const file = write("ghost.mcp.json", text);
    const r = apie(["doctor", "--mcp", "--mcp-config", file], { cwd: workspace, env: env() });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.ok(
      r.stdout.includes(`✗ mcp upstream ghost: not started: ${file}:4:28: upstream.command: upstream command "apie-no-such-mcp-server" was not found on PATH; install it, or give its full path\n`),
      r.stdout,
    );
    // A command given as a path is looked up relative to the config's folder.
    const relative = write("relative.mcp.json", { agentKey: "a", serverName: "rel", upstream: { command: "./bin/missing-server" } });
    const rr = apie(["doctor", "--mcp-config", relative], { cwd: tmpdir(), env: env() });
    assert.equal(rr.code, 1);
    assert.ok(rr.stdout.includes(`"./bin/missing-server" does not exist (${path.join(workspace, "bin", "missing-server")})`), rr.stdout);
  });

  it("an upstream that exits at start: exit 1 with its stderr; one that hangs: the deadline", () => {
    const crash = write("crash.mcp.json", { agentKey: "a", serverName: "crash", upstream: { command: "node", args: ["-e", "console.error('FATAL: GITHUB_TOKEN is not set'); process.exit(3)"] } });
    const r = apie(["doctor", "--mcp-config", crash], { cwd: workspace, env: env() });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^✗ mcp upstream crash: .*closed the connection while starting/m);
    assert.match(r.stdout, /^ {4}stderr: FATAL: GITHUB_TOKEN is not set$/m);

    const hang = write("hang.mcp.json", { agentKey: "a", serverName: "hang", upstream: { command: "node", args: ["-e", "setInterval(() => {}, 1000)"] } });
    const h = apie(["doctor", "--mcp-config", hang, "--mcp-timeout", "1000"], { cwd: workspace, env: env() });
    assert.equal(h.code, 1, h.stdout + h.stderr);
    assert.match(h.stdout, /^✗ mcp upstream hang: .*no answer to initialize within 1 s$/m);
    assert.ok(h.ms < 10_000, `took ${h.ms} ms`);
  });

  it("several servers: each is started (one failing fails the run); --server checks one", () => {
    const file = write("multi.mcp.json", {
      agentKey: "a",
      servers: { everything: { upstream: everything }, ghost: { upstream: { command: "apie-no-such-mcp-server" } } },
    });
    const all = apie(["doctor", "--mcp-config", file], { cwd: workspace, env: env() });
    assert.equal(all.code, 1, all.stdout + all.stderr);
    assert.match(all.stdout, /^✓ mcp config: .*multi\.mcp\.json is valid \(servers: everything, ghost\)$/m);
    assert.match(all.stdout, /^✓ mcp upstream everything: /m);
    assert.match(all.stdout, /^✗ mcp upstream ghost: not started: .*servers\.ghost\.upstream\.command: .*not found on PATH/m);
    const one = apie(["doctor", "--mcp-config", file, "--server", "everything"], { cwd: workspace, env: env() });
    assert.equal(one.code, 0, one.stdout + one.stderr);
    assert.doesNotMatch(one.stdout, /ghost/);
    const unknown = apie(["doctor", "--mcp-config", file, "--server", "gitlab"], { cwd: workspace, env: env() });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stdout, /servers: no server "gitlab" in apie\.mcp\.json \(servers: everything, ghost\)/);
  });

  describe("url upstream (Streamable HTTP)", () => {
    let server: ChildProcess;
    let port: number;
    before(async () => {
      port = await freePort();
      server = spawn(process.execPath, [EVERYTHING, "streamableHttp"], { env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      await new Promise<void>((resolve, reject) => {
        server.stderr!.on("data", (d: Buffer) => {
          err += d.toString();
          if (/listening on port/i.test(err)) resolve();
        });
        server.once("exit", (code) => reject(new Error(`server-everything exited (${code}):\n${err}`)));
      });
    });
    after(async () => {
      if (server.exitCode === null) {
        const exited = new Promise((resolve) => server.once("exit", resolve));
        server.kill("SIGTERM");
        await exited;
      }
    });

    it("lists the tools over HTTP; a port nobody listens on is a clear failure", async () => {
      const file = write("http.mcp.json", { agentKey: "a", serverName: "remote", upstream: { url: `http://127.0.0.1:${port}/mcp` } });
      const r = apie(["doctor", "--mcp-config", file], { cwd: workspace, env: env() });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`^✓ mcp upstream remote: \`http://127\\.0\\.0\\.1:${port}/mcp\` .*answered: \\d+ tools`, "m"));
      assert.match(r.stdout, /echo/);

      const closed = await freePort();
      const down = write("down.mcp.json", { agentKey: "a", serverName: "down", upstream: { url: `http://127.0.0.1:${closed}/mcp` } });
      const d = apie(["doctor", "--mcp-config", down], { cwd: workspace, env: env() });
      assert.equal(d.code, 1);
      assert.match(d.stdout, /^✗ mcp upstream down: .*cannot reach it: connection refused/m);
    });
  });
});
