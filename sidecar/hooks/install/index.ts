/**
 * Installing coding agents' hooks (issue 12): `apie hooks install | uninstall | status`, `apie doctor`'s
 * hook lines and the editor's "Apie: Guard Coding Agents…" all go through this module. It is pure fs +
 * jsonc-parser (no server, no guard engine), so the extension bundles it.
 */
export { HookConfigError } from "./configEdit";
export { DEFAULT_HOOK_TIMEOUT_SECONDS, hookCommand } from "./hookCommand";
export { HOST_HOOK_CONFIGS, SCOPES, type HookEvent, type Scope } from "./hostConfigs";
export { hookLocation, installHooks, planInstall, uninstallHooks, type InstallPlan, type InstallResult, type UninstallResult } from "./installer";
export { launcherPath, readLauncher, writeLauncher, type LauncherState, type LauncherTarget } from "./launcher";
export { hooksStatus, type HostHookStatus, type HooksStatus, type ScopeStatus } from "./status";
