import { readFileSync } from "node:fs";
import path from "node:path";
import * as z from "zod/mini";
import { DEFAULT_STATE_DIR, DISCOVERY_FILE } from "../protocol/discovery";
import { isAlive } from "../server/stateDirLock";
import { once } from "./dialect";

/**
 * How a hook finds its sidecar: `APIE_BASE_URL` + `APIE_API_KEY` from the environment (the editor puts them
 * in its terminals, so an agent started there inherits them), else the discovery file
 * `.apie/sidecar.json` of the nearest workspace at or above the payload's cwd, whose pid must be alive.
 *
 * The same rules as sidecar/cli/sidecarConnection.ts (locateSidecar / readDiscovery), read here with a
 * zod/mini schema and synchronous reads: that module pulls in the server and full zod, which would double
 * the hook's start time, and a hook runs once per tool call. test/unit/hooks/locate.test.ts holds this
 * schema to the sidecar's DiscoverySchema.
 */


/** Plain strings and a number, checked below: zod's url/int types cost a hook process their first use. */
const LeanDiscovery = once(() => z.looseObject({ baseUrl: z.string(), apiKey: z.string(), pid: z.number() }));

export type Located = { ok: true; baseUrl: string; key: string; source: string } | { ok: false; why: string };

export function locateSidecar(env: NodeJS.ProcessEnv, cwd: string): Located {
  const baseUrl = env.APIE_BASE_URL?.trim();
  if (baseUrl) {
    const key = env.APIE_API_KEY?.trim() || env.APIE_ADMIN_KEY?.trim();
    if (!key) return { ok: false, why: "APIE_BASE_URL is set but APIE_API_KEY is not" };
    if (!URL.canParse(baseUrl)) return { ok: false, why: `APIE_BASE_URL is not a URL: "${baseUrl.slice(0, 200)}"` };
    return { ok: true, baseUrl, key, source: "APIE_BASE_URL" };
  }
  // The nearest workspace's file decides: a dead sidecar there does not send the call to a parent
  // workspace's sidecar, whose policy is another one.
  for (const dir of upward(cwd)) {
    const file = path.join(dir, DEFAULT_STATE_DIR, DISCOVERY_FILE);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    let parsed: ReturnType<ReturnType<typeof LeanDiscovery>["safeParse"]>;
    try {
      parsed = LeanDiscovery().safeParse(JSON.parse(text));
    } catch {
      return { ok: false, why: `${file} is not JSON` };
    }
    const valid = parsed.success && URL.canParse(parsed.data.baseUrl) && parsed.data.apiKey !== "" && Number.isInteger(parsed.data.pid) && parsed.data.pid > 0;
    if (!parsed.success || !valid) return { ok: false, why: `${file} is not a sidecar discovery file` };
    if (!isAlive(parsed.data.pid)) return { ok: false, why: `the sidecar recorded in ${file} (pid ${parsed.data.pid}) is not running` };
    return { ok: true, baseUrl: parsed.data.baseUrl, key: parsed.data.apiKey, source: file };
  }
  return { ok: false, why: `no sidecar: APIE_BASE_URL is not set and no ${DEFAULT_STATE_DIR}/${DISCOVERY_FILE} at or above ${cwd}` };
}

/** `dir` and each parent up to the root. */
export function* upward(dir: string): Generator<string> {
  let current = path.resolve(dir);
  for (;;) {
    yield current;
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}
