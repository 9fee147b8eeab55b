import { createRedactor } from "../guard/redact";

/**
 * What the sidecar writes to its log and shows in approval prompts never holds a secret, even when an SDK
 * failed to redact: the default keys and value patterns of the official SDKs, compiled once.
 */
export const logRedactor = createRedactor();
