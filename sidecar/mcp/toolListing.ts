import type { ToolParamHeaders } from "./paramHeaders";
import type { StatelessClientSide } from "./statelessClientSide";

/** Pages of `tools/list` followed in one listing. */
const MAX_PAGES = 20;
/** A listing that has not ended by then is given up: its page request cancelled, the calls waiting for it go on. */
export const LISTING_TIMEOUT_MS = 5_000;
/** A tool no listing named is not listed for again before this. */
const RELIST_MS = 10_000;

/** The `_meta` members a modern request identifies its client with, copied onto the proxy's own requests. */
const CLIENT_META = ["io.modelcontextprotocol/protocolVersion", "io.modelcontextprotocol/clientInfo", "io.modelcontextprotocol/clientCapabilities"];

/**
 * A host of the 2026-07-28 revision may call a tool before any `tools/list` went through the proxy; what that
 * tool marks with `x-mcp-header` is then unknown to it, and the call's `Mcp-Param-*` headers could not be
 * checked against its body (paramHeaders.ts) — with a stdio upstream, which sees no headers, nobody would
 * check them. A server knows its own tools; the proxy, standing in for the upstream, lists them itself
 * first, through the session-less lane, as the host's client would:
 * - one listing at a time, every call that needs it waiting for it, all pages up to MAX_PAGES;
 * - a tool that a listing did not name is not listed for again within RELIST_MS (a host calling tools that
 *   do not exist causes no storm of listings): its call goes on unchecked, and the upstream answers it;
 * - a listing that fails or takes over LISTING_TIMEOUT_MS leaves the calls unchecked, as before.
 */
export class ToolListing {
  private listing: Promise<void> | undefined;
  private listedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly params: ToolParamHeaders,
    private readonly timeoutMs = LISTING_TIMEOUT_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Resolves once what `tool` declares is known, or no listing will tell it now. `request` is the host's call. */
  async learn(tool: string, request: { params?: unknown }, lane: Pick<StatelessClientSide, "ownRequest">): Promise<void> {
    if (this.params.knows(tool)) return;
    if (this.listing === undefined && this.now() - this.listedAt < RELIST_MS) return;
    this.listing ??= this.listWithDeadline(lane, clientMetaOf(request));
    await this.listing;
  }

  /**
   * An upstream that never answers holds up one round of calls, up to the listing's deadline (learnToolPages),
   * not every call after it: its page request is cancelled (ownRequest), and RELIST_MS applies.
   */
  private listWithDeadline(lane: Pick<StatelessClientSide, "ownRequest">, meta: Record<string, unknown>): Promise<void> {
    return learnToolPages(this.params, this.timeoutMs, async (cursor, deadline) => {
      const answer = await lane.ownRequest("tools/list", { ...(cursor === undefined ? {} : { cursor }), _meta: meta }, deadline);
      return answer !== undefined && "result" in answer ? answer.result : undefined;
    }).finally(() => {
      this.listedAt = this.now();
      this.listing = undefined;
    });
  }
}

/**
 * The proxy's own `tools/list`, every page (up to MAX_PAGES), each result taught to `params`; `page` gives a
 * page's result, or undefined when there is none (an error, no answer), which ends the listing. The whole
 * listing has one deadline, `timeoutMs`: `page` must end its request when `deadline` aborts (the listing then
 * ends too), so no listing of the proxy's own waits forever on an upstream that never answers. Shared by the
 * listing through the lane (above) and ModernFetch's listing after an upstream's -32020.
 */
export async function learnToolPages(
  params: ToolParamHeaders,
  timeoutMs: number,
  page: (cursor: string | undefined, deadline: AbortSignal) => Promise<unknown>,
): Promise<void> {
  const deadline = AbortSignal.timeout(timeoutMs);
  let cursor: string | undefined;
  for (let n = 0; n < MAX_PAGES && !deadline.aborted; n++) {
    const result = await page(cursor, deadline);
    if (result === undefined) return;
    params.learn(result);
    const next = (result as { nextCursor?: unknown } | null)?.nextCursor;
    if (typeof next !== "string" || next === "") return;
    cursor = next;
  }
}

/** The `_meta` a modern request identifies its client with (version, client info, capabilities), for the proxy's own requests. */
export function clientMetaOf(request: { params?: unknown }): Record<string, unknown> {
  const meta = (request.params as { _meta?: Record<string, unknown> } | undefined)?._meta ?? {};
  const copied: Record<string, unknown> = {};
  for (const key of CLIENT_META) if (meta[key] !== undefined) copied[key] = meta[key];
  return copied;
}
