import { fileURLToPath } from "node:url";

/** The workspace config files this server understands, matched by file name (any folder). */
export type ConfigFileKind = "policy" | "mcp";

export const CONFIG_FILE_NAMES: Readonly<Record<string, ConfigFileKind>> = {
  "apie.policy.json": "policy",
  "apie.mcp.json": "mcp",
};

export interface ConfigFile {
  kind: ConfigFileKind;
  /** A file system path for file: URIs (what error messages name, and where relative paths start); else the URI. */
  file: string;
  /** False for untitled or virtual documents: nothing next to them on disk can be checked. */
  onDisk: boolean;
}

/** Which config file a document URI is, if any. */
export function configFileOf(uri: string): ConfigFile | undefined {
  let name: string;
  try {
    name = decodeURIComponent(new URL(uri).pathname.split("/").pop() ?? "");
  } catch {
    return undefined;
  }
  const kind = CONFIG_FILE_NAMES[name];
  if (kind === undefined) return undefined;
  const onDisk = uri.startsWith("file:");
  return { kind, file: onDisk ? fileURLToPath(uri) : uri, onDisk };
}
