import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * A private world for one agent-CLI run: a temp HOME (so ~/.claude, ~/.codex, ~/.apie and ~/.ssh are the
 * test's own), a project folder inside it (the CLI's cwd and the sidecar's workspace) and a folder the
 * recording hook writes into. Paths are real paths, as the hosts report them in payloads.
 */
export interface HostSandbox {
  root: string;
  home: string;
  project: string;
  records: string;
  codexHome: string;
  remove(): void;
}

export function makeHostSandbox(label: string): HostSandbox {
  const root = realpathSync(mkdtempSync(path.join(tmpdir(), `apie-${label}-`)));
  const home = path.join(root, "home");
  const project = path.join(home, "project");
  const records = path.join(root, "records");
  const codexHome = path.join(home, ".codex");
  for (const dir of [home, project, records, codexHome]) mkdirSync(dir, { recursive: true });
  return { root, home, project, records, codexHome, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** A fake private key at ~/.ssh/id_rsa of the sandbox's HOME (what local-secret-files guards). */
export function writeFakeSshKey(home: string): string {
  const file = path.join(home, ".ssh", "id_rsa");
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, "-----BEGIN OPENSSH PRIVATE KEY-----\nZmFrZSBrZXkgZm9yIGEgdGVzdA==\n-----END OPENSSH PRIVATE KEY-----\n", { mode: 0o600 });
  return file;
}

/** A hooks file (Claude Code settings or Codex hooks.json shape) running `command` before and after every tool. */
export function hooksRunning(command: string, timeout = 900): { hooks: Record<string, unknown> } {
  const handler = [{ matcher: "*", hooks: [{ type: "command", command, timeout }] }];
  return { hooks: { PreToolUse: handler, PostToolUse: handler } };
}
