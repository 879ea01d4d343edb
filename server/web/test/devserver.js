// @ts-check
// TEST ONLY — until chatflow-server serves the inbox and browser sessions itself. Serves server/web/inbox/ at
// /inbox/ with the Content-Security-Policy the server is to send, and forwards /v1/* (and WebSocket upgrades) to a
// real chatflow-server, signing each request with an agent token (Bearer) instead of the session cookie. It answers
// only what the server cannot yet: GET /v1/agent/me (the token's agent, from the seed file; a fixed CSRF token) and
// POST /v1/agent/logout. It refuses writes without that X-CSRF-Token, as the server will (403 csrf_failed).
// No dependencies: node:http and node:net.
//
//   node test/devserver.js --upstream http://127.0.0.1:PORT --seed ../seeds/test.json --token cfg_acme_alice_test_token

import { createServer, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { readFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { extname, join } from "node:path";

export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");
export const DEV_CSRF = "dev-csrf-token";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};
const STATIC_DIR = join(import.meta.dirname, "..", "inbox");

/**
 * @param {{upstream: string, seedPath: string, token: string, port?: number, signedOut?: boolean}} options
 *   `signedOut`: GET /v1/agent/me answers 401, as without a session (the sign-in page shows)
 * @returns {Promise<{url: string, close: () => Promise<void>}>}
 */
export async function startDevServer(options) {
  const upstream = new URL(options.upstream);
  const seed = JSON.parse(readFileSync(options.seedPath, "utf8"));
  /** @type {{app: any, agent: any} | undefined} */
  let found;
  for (const app of seed.apps) {
    for (const agent of app.agents) if (agent.token === options.token) found = { app, agent };
  }
  if (!found) throw new Error("the token is not an agent's token in the seed file");
  const { app, agent } = found;

  /** The agent as GET /v1/agent/me will describe it (presence and teams read live from the server). */
  async function me() {
    const res = await fetch(new URL("/v1/agent/agents", upstream), {
      headers: { Authorization: `Bearer ${options.token}` },
    });
    const { agents } = /** @type {{agents: {id: string, available: boolean, team_ids: string[]}[]}} */ (
      await res.json()
    );
    const live = agents.find((a) => a.id === agent.id);
    return {
      agent: {
        id: agent.id,
        app_id: app.id,
        app_name: app.name,
        display_name: agent.display_name,
        email: agent.email ?? `${agent.id}@example.invalid`,
        available: live?.available ?? false,
        team_ids: live?.team_ids ?? [],
      },
      csrf_token: DEV_CSRF,
    };
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://dev");
    const send = (/** @type {number} */ status, /** @type {unknown} */ body) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    };
    try {
      if (url.pathname === "/inbox") {
        res.writeHead(301, { Location: "/inbox/" });
        return res.end();
      }
      if (url.pathname.startsWith("/inbox/")) {
        const name = url.pathname.slice("/inbox/".length) || "index.html";
        const type = TYPES[/** @type {keyof typeof TYPES} */ (extname(name))];
        if (!/^[\w-]+\.[a-z]+$/.test(name) || !type) return send(404, { code: "not_found", message: "no such file" });
        const body = await readFile(join(STATIC_DIR, name)).catch(() => null);
        if (!body) return send(404, { code: "not_found", message: "no such file" });
        res.writeHead(200, {
          "Content-Type": type,
          "Content-Security-Policy": CSP,
          "X-Content-Type-Options": "nosniff",
          "Referrer-Policy": "no-referrer",
          "Cache-Control": "no-cache",
        });
        return res.end(body);
      }
      if (!url.pathname.startsWith("/v1/"))
        return send(404, { code: "unknown_route", message: "not a dev-server route" });
      const write = req.method !== "GET" && req.method !== "HEAD";
      // Sign-in is the one write without a session, hence without a CSRF token.
      if (write && url.pathname !== "/v1/agent/login" && req.headers["x-csrf-token"] !== DEV_CSRF) {
        return send(403, { code: "csrf_failed", message: "the X-CSRF-Token header is missing or wrong" });
      }
      if (url.pathname === "/v1/agent/me" && req.method === "GET") {
        if (options.signedOut) return send(401, { code: "unauthorized", message: "Sign in to use the inbox." });
        return send(200, await me());
      }
      if (url.pathname === "/v1/agent/logout" && req.method === "POST") {
        res.writeHead(204);
        return res.end();
      }
      /** @type {Record<string, string | string[] | undefined>} */
      const headers = { ...req.headers, host: upstream.host, authorization: `Bearer ${options.token}` };
      delete headers.cookie;
      delete headers["x-csrf-token"];
      const forward = httpRequest(
        { host: upstream.hostname, port: upstream.port, path: url.pathname + url.search, method: req.method, headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      forward.on("error", () => send(502, { code: "bad_gateway", message: "the chatflow-server is not reachable" }));
      req.pipe(forward);
    } catch (e) {
      send(500, { code: "dev_server", message: String(e) });
    }
  });

  // WebSocket upgrades (the live feed, once the server has it): the same request, signed, then bytes both ways.
  server.on("upgrade", (req, socket, head) => {
    const up = connect(Number(upstream.port), upstream.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i].toLowerCase();
        if (name === "cookie" || name === "authorization" || name === "host") continue;
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      }
      lines.push(`Host: ${upstream.host}`, `Authorization: Bearer ${options.token}`, "", "");
      up.write(lines.join("\r\n"));
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on("error", () => socket.destroy());
    socket.on("error", () => up.destroy());
  });

  await new Promise((resolve) => server.listen(options.port ?? 0, "127.0.0.1", () => resolve(undefined)));
  const address = /** @type {import("node:net").AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (/** @type {string} */ name) => {
    const i = process.argv.indexOf(`--${name}`);
    if (i < 0 || !process.argv[i + 1]) throw new Error(`--${name} is required`);
    return process.argv[i + 1];
  };
  const dev = await startDevServer({
    upstream: arg("upstream"),
    seedPath: arg("seed"),
    token: arg("token"),
    port: process.argv.includes("--port") ? Number(arg("port")) : 0,
  });
  console.log(`inbox on ${dev.url}/inbox/`);
}
