import { applyEdits, modify, parse, type FormattingOptions } from "jsonc-parser";
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
 */
export async function enableTemplate(file: string, key: string, decision: Decision | undefined): Promise<void> {
  const text = (await readPolicyText(file)) ?? NEW_POLICY;
  const value = decision === undefined ? true : { decision };
  const edits = modify(text, ["templates", key], value, { formattingOptions: FORMAT });
  await writeFile(file, applyEdits(text, edits));
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
