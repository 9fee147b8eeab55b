import path from "node:path";
import { ErrorCodes, ResponseError, type InitializeError } from "vscode-languageserver/node";
import { DEFAULT_STATE_DIR } from "../protocol/discovery";
import { firstIssue } from "../protocol/issues";
import { SidecarInitOptionsSchema } from "../protocol/lspParams";
import type { SidecarOptions } from "../server/sidecar";

/**
 * The sidecar's options from the initialize request's `initializationOptions` (SidecarInitOptionsSchema).
 * A bad value fails `initialize` with InvalidParams naming the field (`initializationOptions.port: …`) and
 * `retry: false`: the same options would fail again, so the client should not offer a retry.
 */
export function sidecarOptionsFrom(initializationOptions: unknown, log: (line: string) => void): SidecarOptions {
  const parsed = SidecarInitOptionsSchema.safeParse(initializationOptions ?? {});
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error);
    throw new ResponseError<InitializeError>(ErrorCodes.InvalidParams, `initializationOptions${field ? `.${field}` : ""}: ${message}`, { retry: false });
  }
  const workspace = path.resolve(parsed.data.workspace);
  return {
    workspace,
    stateDir: path.resolve(parsed.data.stateDir ?? path.join(workspace, DEFAULT_STATE_DIR)),
    port: parsed.data.port ?? 0,
    mode: parsed.data.mode,
    log,
  };
}
