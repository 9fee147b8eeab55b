import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in HTTP server on 127.0.0.1 for what the real sidecar cannot be made to do (answer garbage, fail
 * with a 5xx): it reads each request whole, then lets `answer` write the response. Named a stand-in wherever
 * a test uses it.
 */
export async function startStandIn(answer: (res: ServerResponse) => void): Promise<{ server: Server; baseUrl: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => answer(res));
  });
  return { server, baseUrl: await listen(server) };
}

export function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

export function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
