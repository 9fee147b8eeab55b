import { applyEdits, modify, parse, type FormattingOptions, type JSONPath } from "jsonc-parser";
import { readFile, writeFile } from "node:fs/promises";
import type { Capability } from "../guard/policySchema";
import type { Decision } from "../guard/types";

const FORMAT: FormattingOptions = { insertSpaces: true, tabSize: 2, eol: "\n" };
const NEW_POLICY = `{\n  "version": 1\n}\n`;

export async function readPolicyText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Turn a template on in apie.policy.json, editing the text in place (comments, order and formatting of
 * everything else are kept, so the change reviews as a one-line diff). Creates the file when missing.
 *
 * Enabling never loosens what the file says. Without `decision`:
 * - a template already on (`true`, or settings without `"enabled": false`) is left alone: the file is not
 *   written at all, so its `decision`, `approvalTimeoutMs` and formatting stay byte for byte;
 * - settings with `"enabled": false` get `"enabled": true` and keep every other setting;
 * - a template that is off or absent becomes `true` (its catalog default).
 * With `decision` (a human's explicit choice: `apie guardrails enable KEY --decision D`) that decision is set,
 * keeping the template's other settings (`approvalTimeoutMs`). Returns whether the file was written.
 */
export async function enableTemplate(file: string, key: string, decision: Decision | undefined): Promise<boolean> {
  const existing = await readPolicyText(file);
  let text = existing ?? NEW_POLICY;
  const current = (parse(text) as { templates?: Record<string, unknown> } | undefined)?.templates?.[key];
  const settings = typeof current === "object" && current !== null && !Array.isArray(current) ? (current as Record<string, unknown>) : undefined;
  const set = (at: JSONPath, value: unknown) => (text = applyEdits(text, modify(text, at, value, { formattingOptions: FORMAT })));
  if (settings !== undefined) {
    if (decision !== undefined && settings.decision !== decision) set(["templates", key, "decision"], decision);
    if (settings.enabled === false) set(["templates", key, "enabled"], true);
  } else if (decision !== undefined) {
    set(["templates", key], { decision });
  } else if (current !== true) {
    set(["templates", key], true);
  }
  if (text === existing) return false;
  await writeFile(file, text);
  return true;
}

/**
 * Declares capabilities for an agent in apie.policy.json (`capabilities.<agentKey>`), replacing earlier
 * entries for the same tools and keeping the rest, as a text edit (one reviewable diff).
 */
export async function declareCapabilities(file: string, agentKey: string, capabilities: readonly Capability[]): Promise<void> {
  const text = (await readPolicyText(file)) ?? NEW_POLICY;
  const existing = (parse(text) as { capabilities?: Record<string, Capability[]> } | undefined)?.capabilities?.[agentKey] ?? [];
  const replaced = new Set(capabilities.map((c) => c.tool.name));
  const merged = [...existing.filter((c) => !replaced.has(c.tool.name)), ...capabilities];
  const edits = modify(text, ["capabilities", agentKey], merged, { formattingOptions: FORMAT });
  await writeFile(file, applyEdits(text, edits));
}
