/**
 * Where tool calls carry what the guard reads: the shell command line and the file paths. A module of its own
 * (no imports) so the editor names the same keys as the guard without loading the guard.
 */

/** Shell command text: `{command: "..."}` and the other spellings agents and MCP servers use. */
export const COMMAND_KEYS = ["command", "cmd", "script", "commandLine", "command_line", "shell_command", "bash"];

/**
 * Where the hosts' file tools put their path (HOOKS.md): Claude `file_path`/`notebook_path`, VS Code
 * `filePath`, Copilot CLI and Cursor `path`, Gemini `file_path`/`absolute_path`, Codex `apply_patch` as
 * `{patch, paths}` (issue 12 contract), MCP filesystem servers `path`/`source`/`destination`.
 */
export const PATH_KEYS = [
  "path", "file_path", "filePath", "notebook_path", "notebookPath", "absolute_path", "absolutePath", "filename", "file",
  "source", "src", "destination", "dest", "uri",
];

/** Keys looked at before probing for names: past this many, probing the names is the cheaper way. */
const MAX_SCANNED_KEYS = 32;

/**
 * False when `record` certainly has none of `names` among its keys (it has few keys, none of them listed),
 * so a caller can skip probing for each name. Why: a tool call's arguments are a JSON object of a few keys,
 * and probing it for a dozen absent names costs a keyed lookup apiece — cheap in a hot loop, ~0.3 µs each in
 * a process woken per call with cold caches, as the MCP proxy's replica is; its own keys are checked in a
 * fraction of that. Arguments are parsed JSON (own, enumerable keys only), so a key the scan does not see
 * is one a lookup would not find.
 */
export function mayHaveAnyKey(record: object, names: ReadonlySet<string>): boolean {
  let scanned = 0;
  for (const key in record) {
    if (names.has(key) || ++scanned > MAX_SCANNED_KEYS) return true;
  }
  return false;
}
