import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The run and session a piece of async code belongs to. `withRun`/`withSession` set it for everything
 * their callback awaits (AsyncLocalStorage, like the Python SDK's contextvars), so a `withTool` deep in the
 * agent finds its run without threading ids through every call.
 */
export interface RunContext {
  readonly runId?: string | undefined;
  readonly sessionId?: string | undefined;
}

const storage = new AsyncLocalStorage<RunContext>();

/** The run/session of the calling async context (empty outside any `withRun`/`withSession`). */
export function currentRunContext(): RunContext {
  return storage.getStore() ?? {};
}

/** Runs `fn` with `context` merged over the enclosing one (an inner run keeps the outer session). */
export function withRunContext<T>(context: RunContext, fn: () => T): T {
  const outer = storage.getStore();
  return storage.run({ ...outer, ...definedOnly(context) }, fn);
}

/** An explicit id wins over the context's. */
export function resolveRunId(explicit?: string): string | undefined {
  return explicit ?? storage.getStore()?.runId;
}

export function resolveSessionId(explicit?: string): string | undefined {
  return explicit ?? storage.getStore()?.sessionId;
}

function definedOnly(context: RunContext): RunContext {
  const out: { runId?: string; sessionId?: string } = {};
  if (context.runId !== undefined) out.runId = context.runId;
  if (context.sessionId !== undefined) out.sessionId = context.sessionId;
  return out;
}
