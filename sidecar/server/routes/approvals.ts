import type { FinalApprovalStatus } from "../../protocol/approvals";
import {
  ListApprovalsQuerySchema,
  ResolveApprovalBodySchema,
  WaitQuerySchema,
  type ApprovalResponse,
  type ApprovalWaitResponse,
} from "../../protocol/approvals";
import { TooManyWaiters } from "../approvalBroker";
import { HttpError, notFound, parseBody, parseQuery, type Route, type RouteContext, type SidecarServices } from "../routing";

/**
 * Approvals over HTTP. Reading and waiting: any key (the agent waits on its own approval). Approving and
 * rejecting: the admin key only — the agent key can never grant itself anything. Cancelling: any key (an
 * agent giving up, or an MCP client's notifications/cancelled, only ever withdraws a request).
 */
export function approvalRoutes(s: SidecarServices): Route[] {
  const approval = (id: string | undefined) => {
    const found = id === undefined ? undefined : s.approvals.get(id);
    if (found === undefined) throw notFound("approval", id);
    return found;
  };

  const resolver = (status: FinalApprovalStatus) => async ({ body, params: [id], caller }: RouteContext): Promise<ApprovalResponse> => {
    const b = parseBody(ResolveApprovalBodySchema, body ?? {});
    approval(id);
    const by = caller === "admin" ? (b.resolved_by ?? "admin-key") : "agent";
    // A scope widens a grant: only approve takes one, and only from the admin key (approve is admin-only;
    // cancel, which any key may call, never carries one).
    if (b.scope !== undefined && (status !== "approved" || caller !== "admin")) {
      throw new HttpError(400, "invalid_request", `scope: only an approval (POST /v1/approvals/{id}/approve, admin key) takes a scope`);
    }
    const outcome = await s.approvals.resolve(id!, status, by, b.reason ?? null, b.scope);
    if (!outcome.ok && outcome.reason === "session_unavailable") throw new HttpError(409, "session_unavailable", outcome.message);
    if (!outcome.ok) {
      const current = outcome.approval!;
      throw new HttpError(409, "already_resolved", `approval ${id} is already ${current.status} (by ${current.resolved_by ?? "?"}); an approval resolves once`);
    }
    return { approval: { ...outcome.approval } };
  };

  return [
    {
      method: "GET",
      path: "/v1/approvals",
      admin: true,
      handle: ({ query }) => {
        const { status } = parseQuery(ListApprovalsQuerySchema, query);
        return { approvals: s.approvals.list(status) };
      },
    },
    {
      method: "GET",
      path: /^\/v1\/approvals\/([^/]+)$/,
      handle: ({ params: [id] }): ApprovalResponse => ({ approval: { ...approval(id) } }),
    },
    {
      method: "GET",
      path: /^\/v1\/approvals\/([^/]+)\/wait$/,
      handle: async ({ params: [id], query, hangUp }): Promise<ApprovalWaitResponse> => {
        const { timeout } = parseQuery(WaitQuerySchema, query);
        approval(id);
        const status = await s.approvals.wait(id!, timeout, hangUp()).catch((error: unknown) => {
          throw error instanceof TooManyWaiters ? new HttpError(503, "too_many_waiters", error.message) : error;
        });
        return { status, approval: { ...approval(id) } };
      },
    },
    { method: "POST", path: /^\/v1\/approvals\/([^/]+)\/approve$/, admin: true, handle: resolver("approved") },
    { method: "POST", path: /^\/v1\/approvals\/([^/]+)\/reject$/, admin: true, handle: resolver("rejected") },
    { method: "POST", path: /^\/v1\/approvals\/([^/]+)\/cancel$/, handle: resolver("cancelled") },
  ];
}
