/**
 * The editor calling its sidecar's v1 HTTP API as an agent does (Bearer agent key from the snapshot): for
 * what the private channel does not carry (boundary reports, the walkthrough's demo guard call). An answer
 * that is not 2xx throws with the sidecar's own error message.
 */
export interface AgentConnection {
  baseUrl: string;
  apiKey: string;
}

export async function agentRequest<T>(connection: AgentConnection | undefined, method: "GET" | "POST", route: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
  if (connection === undefined) throw new Error("the Apie sidecar is not running");
  const res = await fetch(`${connection.baseUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${connection.apiKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const answer = (await res.json()) as T & { error?: { message?: string } };
  if (!res.ok) throw new Error(answer.error?.message ?? `HTTP ${res.status} from ${route}`);
  return answer;
}
