import type { Mode } from "../guard/types";
import type { SidecarServices } from "./routing";

/**
 * Switches the workspace mode (status bar, `POST /v1/mode`): the very next decision follows it, and the
 * change is journaled (durably) so the timeline shows who lowered or raised it and a restart keeps it.
 */
export async function switchWorkspaceMode(s: SidecarServices, mode: Mode, by: string): Promise<Mode> {
  s.engine.setWorkspaceMode(mode);
  await s.journal.record("mode.changed", { mode, by }).durable;
  return mode;
}
