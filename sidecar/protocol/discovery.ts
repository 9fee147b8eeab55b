/**
 * The discovery contract: how a process that was not started by the editor finds a running sidecar.
 *
 * A sidecar writes `<state dir>/sidecar.json` when it starts (0600, fresh each start; shape: DiscoverySchema
 * in ./v1.ts — baseUrl, apiKey, adminKey, pid) and removes it when it stops. Readers — the `apie` CLI, the
 * MCP proxy and the coding-agent hooks — take `APIE_BASE_URL` + a key from the environment first, else this
 * file, and trust it only while its pid is alive. The state dir defaults to `.apie` in the workspace.
 *
 * Constants only, no imports: the hook bundle reads them and must not pull zod or the server in.
 */

/** The state dir inside a workspace when none is configured (`apie.sidecar.stateDir`, `--state-dir`). */
export const DEFAULT_STATE_DIR = ".apie";

/** The discovery file's name inside the state dir. */
export const DISCOVERY_FILE = "sidecar.json";
