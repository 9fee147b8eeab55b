import { readFileSync } from "node:fs";
import path from "node:path";
import * as z from "zod/mini";
import { once } from "./dialect";
import { upward } from "./locate";
import { POLICY_FILE } from "../protocol/workspaceFiles";

/**
 * The policy's `hooks` section (apie.policy.json; the full schema is guard/policySchema.ts HooksSchema):
 * - `failureMode`: what a hook answers when no sidecar answers (down, unreachable, not answering within the
 *   hook's budget) — `fail_open` (default): no opinion plus a visible warning; `fail_closed`: deny;
 * - `approvals`: `editor` (default) — a require_approval waits for the editor's approval; `host` — the host's
 *   own prompt asks instead, where it has one (VS Code, Claude Code, Copilot CLI; the others wait in the editor).
 *
 * When the sidecar answers, it applies `approvals` itself (it has the policy loaded); the hook reads the file
 * only when no sidecar answers, from the nearest apie.policy.json at or above the payload's cwd. This read is
 * deliberately tiny and forgiving: an unreadable file or section gives the defaults' counterpart only for
 * fields it can read — a file that exists but cannot be parsed fails closed (a broken policy never loosens).
 */
export interface HookSettings {
  failureMode: "fail_open" | "fail_closed";
  approvals: "editor" | "host";
  /** The policy file read, or why none was; for messages. */
  source: string;
}


const LeanHooks = once(() =>
  z.looseObject({
  hooks: z.optional(
    z.looseObject({
      failureMode: z.optional(z.enum(["fail_open", "fail_closed"])),
      approvals: z.optional(z.enum(["editor", "host"])),
    }),
  ),
}),
);

export function readHookSettings(cwd: string): HookSettings {
  for (const dir of upward(cwd)) {
    const file = path.join(dir, POLICY_FILE);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") continue;
      return { failureMode: "fail_closed", approvals: "editor", source: `${file} (unreadable: failing closed)` };
    }
    const errors: unknown[] = [];
    // Required here, not imported: the hook reads the policy only when no sidecar answered, and a module
    // imported at the top is initialised on every hook call (esbuild initialises a require()d one on first use).
    const { parse } = require("jsonc-parser") as typeof import("jsonc-parser");
    const parsed = LeanHooks().safeParse(parse(text, errors as never, { allowTrailingComma: true }));
    if (errors.length > 0 || !parsed.success) return { failureMode: "fail_closed", approvals: "editor", source: `${file} (invalid: failing closed)` };
    return { failureMode: parsed.data.hooks?.failureMode ?? "fail_open", approvals: parsed.data.hooks?.approvals ?? "editor", source: file };
  }
  return { failureMode: "fail_open", approvals: "editor", source: `no ${POLICY_FILE} at or above ${cwd}` };
}
