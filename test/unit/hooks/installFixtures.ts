import type { HookHost } from "../../../sidecar/hooks/hosts";

/**
 * A hook file per host as a user might have it before `apie hooks install`: comments (line and block,
 * a trailing one on the last entry), other settings, and another guard's hooks (Rampart's shapes from
 * HOOKS.md §7.1) on the same events we write. Install then uninstall must give it back byte for byte.
 */
export const EXISTING_FILES: Readonly<Record<HookHost, string>> = {
  vscode: `{
  // my own hooks, for VS Code and Copilot CLI
  "version": 1,
  "hooks": {
    "PreToolUse": [
      { "type": "command", "bash": "./scripts/lint-check.sh", "timeoutSec": 10 } // keep me
    ]
  }
}
`,
  "claude-code": `{
  /* personal settings */
  "model": "opus",
  "permissions": { "allow": ["Bash(npm test)"] },
  "hooks": {
    "PreToolUse": [
      {
        "matcher": ".*",
        "hooks": [{ "type": "command", "command": "rampart hook" }]
      } // rampart
    ],
    "PostToolUse": [
      { "matcher": ".*", "hooks": [{ "type": "command", "command": "rampart hook" }] }
    ]
  }
}
`,
  "copilot-cli": `{
  "version": 1,
  "hooks": {
    // Rampart's Copilot entry
    "PreToolUse": [
      { "type": "command", "bash": "rampart hook --format copilot", "powershell": "rampart hook --format copilot", "timeoutSec": 30 }
    ]
  }
}
`,
  codex: `{
    "hooks": {
        "PreToolUse": [
            {
                "matcher": "*",
                "hooks": [
                    { "type": "command", "command": "rampart hook --format codex", "timeout": 330, "statusMessage": "Checking Rampart policy" }
                ]
            }
        ]
    },
    // tabs? no: four spaces, kept
    "other": true
}
`,
  cursor: `{
\t"version": 1,
\t"hooks": {
\t\t"preToolUse": [
\t\t\t{ "command": "rampart hook --format cursor", "timeout": 330, "failClosed": true }
\t\t],
\t\t"beforeShellExecution": [
\t\t\t{ "command": "./audit.sh" }
\t\t]
\t}
}
`,
  "gemini-cli": `{
  "theme": "Dracula", // the UI theme
  "hooks": {
    "BeforeTool": [
      { "matcher": ".*", "hooks": [{ "name": "rampart", "type": "command", "command": "rampart hook --format gemini", "timeout": 330000 }] }
    ]
  },
}
`,
};

/** The foreign command in each fixture that must survive install and uninstall. */
export const FOREIGN_COMMAND: Readonly<Record<HookHost, string>> = {
  vscode: "./scripts/lint-check.sh",
  "claude-code": "rampart hook",
  "copilot-cli": "rampart hook --format copilot",
  codex: "rampart hook --format codex",
  cursor: "rampart hook --format cursor",
  "gemini-cli": "rampart hook --format gemini",
};
