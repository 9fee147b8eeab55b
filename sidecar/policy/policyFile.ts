import { applyEdits, modify, type FormattingOptions } from "jsonc-parser";
import { readFile, writeFile } from "node:fs/promises";
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
