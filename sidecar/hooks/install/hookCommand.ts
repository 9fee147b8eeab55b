import type { HookHost } from "../hosts";
import { HOOK_MARKER, HOST_HOOK_CONFIGS, type HookEvent, type Scope } from "./hostConfigs";
import { LAUNCHER_RELATIVE_PATH, launcherPath, shQuote } from "./launcher";

/** The installed default host timeout (contract item 3). */
export const DEFAULT_HOOK_TIMEOUT_SECONDS = 900;

/**
 * The shell command a host config runs (POSIX sh; contract items 2 and 3).
 *
 * User scope: the launcher by absolute path, `'/home/me/.apie/bin/apie-hook' --host H --event E --timeout S`.
 *
 * Workspace scope (the file may travel with the repository to machines without Apie, and to Copilot's
 * cloud agent): the launcher is looked up under the running user's `$HOME`, and when it is missing the
 * command prints the host's "no opinion" answer and exits 0 —
 *   [ -x "$HOME/.apie/bin/apie-hook" ] && exec "$HOME/.apie/bin/apie-hook" --host H … || echo '{}'
 */
export function hookCommand(host: HookHost, event: HookEvent, timeoutSeconds: number, scope: Scope, home: string): string {
  const args = `--host ${HOST_HOOK_CONFIGS[host].commandHost} --event ${event} --timeout ${timeoutSeconds}`;
  if (scope === "user") return `${shQuote(launcherPath(home))} ${args}`;
  const launcher = `"$HOME/${LAUNCHER_RELATIVE_PATH}"`;
  const noOpinion = HOST_HOOK_CONFIGS[host].noOpinion;
  return `[ -x ${launcher} ] && exec ${launcher} ${args} || ${noOpinion === "" ? "true" : `echo '${noOpinion}'`}`;
}

/** Whether a command string is one of ours for this host (the launcher's name and the host's `--host H`). */
export function isOurCommand(command: unknown, host: HookHost): boolean {
  const written = HOST_HOOK_CONFIGS[host].commandHost;
  return typeof command === "string" && command.includes(HOOK_MARKER) && new RegExp(`--host[ =]${written}(?![\\w-])`).test(command);
}

/** The event (`pre`/`post`/`end`) and timeout a command of ours was written with. */
export function parseOurCommand(command: string): { event: HookEvent | undefined; timeoutSeconds: number | undefined } {
  const event = /--event[ =](pre|post|end)\b/.exec(command)?.[1] as HookEvent | undefined;
  const timeout = /--timeout[ =](\d+)\b/.exec(command)?.[1];
  return { event, timeoutSeconds: timeout === undefined ? undefined : Number(timeout) };
}
