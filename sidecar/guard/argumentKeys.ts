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
