import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { GuardEngine } from "../../sidecar/guard/engine";
import type { TimelineRecord } from "../../sidecar/protocol/records";
import { ApprovalBroker } from "../../sidecar/server/approvalBroker";
import { RouteDispatcher } from "../../sidecar/server/dispatch";
import type { SidecarServices } from "../../sidecar/server/routing";
import { Journal } from "../../sidecar/store/journal";

/**
 * The sidecar's routes in-process, without sockets: a real journal in a temp folder, the engine with `policy`,
 * the approval broker and the dispatcher, as `apie sidecar` wires them. For unit tests of route logic that
 * need to see every record appended, in order.
 */
export interface InProcessRoutes {
  dir: string;
  journal: Journal;
  engine: GuardEngine;
  approvals: ApprovalBroker;
  routes: RouteDispatcher;
  /** Every record appended, in order (what the journal's listeners are told). */
  records: TimelineRecord[];
  /** Runs one request through the dispatcher as `caller` would send it. */
  send(method: string, urlPath: string, body: unknown, caller?: "agent" | "admin"): Promise<any>;
  close(): Promise<void>;
}

export async function openInProcessRoutes(policy: unknown, options: { home?: string } = {}): Promise<InProcessRoutes> {
  const dir = mkdtempSync(path.join(tmpdir(), "apie-routes-"));
  const journal = (await Journal.open(path.join(dir, "events.jsonl"), { sync: false })).journal;
  const engine = new GuardEngine();
  engine.loadPolicyText(JSON.stringify(policy));
  const approvals = options.home === undefined ? new ApprovalBroker(journal) : new ApprovalBroker(journal, Date.now, options.home);
  const services: SidecarServices = { engine, journal, approvals, keys: { apiKey: "a", adminKey: "b" }, workspace: dir, startedAt: Date.now(), baseUrl: () => "" };
  const routes = new RouteDispatcher(services);
  const records: TimelineRecord[] = [];
  journal.onRecord((record) => records.push(record));
  return {
    dir,
    journal,
    engine,
    approvals,
    routes,
    records,
    send: (method, urlPath, body, caller = "agent") =>
      Promise.resolve().then(() => routes.run(routes.find(method, urlPath, caller), { body, caller, query: new URLSearchParams(), hangUp: () => new AbortController().signal })),
    async close() {
      approvals.close();
      await journal.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
