import type { GuardEngine } from "../guard/engine";
import type { Mode, PolicyState } from "../guard/types";

/** What `apie/status` carries: the workspace mode and the policy's state. */
export interface SidecarStatus {
  mode: Mode;
  policy: { state: PolicyState; message: string | null };
}

/** The engine's status now; the message is the one every decision carries. */
export function currentStatus(engine: GuardEngine): SidecarStatus {
  const { state, message } = engine.policyStatus;
  return { mode: engine.workspaceMode, policy: { state, message } };
}

/** Remembers the last status told to the editor; `changed` is true only when something in it differs. */
export class StatusTracker {
  constructor(private last: SidecarStatus) {}

  changed(next: SidecarStatus): boolean {
    const same = next.mode === this.last.mode && next.policy.state === this.last.policy.state && next.policy.message === this.last.policy.message;
    this.last = next;
    return !same;
  }
}
