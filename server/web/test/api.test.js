// @ts-check
// The REST client's contract, with the fetch function handed in: CSRF header on writes only, same-origin
// credentials, refusals as ApiError with the server's code and message, Retry-After, 401 → signed out.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, createApi, listQuery } from "../inbox/api.js";
import { emptyFilters } from "../inbox/state.js";
import { loginError } from "../inbox/login.js";

/** Records requests and answers from a list of responses. */
function recorder(/** @type {Response[]} */ answers) {
  /** @type {{url: string, init: RequestInit}[]} */
  const calls = [];
  const fetch = /** @type {typeof globalThis.fetch} */ (
    async (url, init) => {
      calls.push({ url: String(url), init: init ?? {} });
      return /** @type {Response} */ (answers.shift());
    }
  );
  return { calls, fetch };
}
const json = (/** @type {number} */ status, /** @type {unknown} */ body, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

test("writes carry the CSRF token, reads do not; credentials stay same-origin", async () => {
  const r = recorder([json(200, { agents: [] }), new Response(null, { status: 204 })]);
  const api = createApi({ fetch: r.fetch });
  api.setCsrf("tok");
  await api.agents();
  await api.read("c/1", 3);
  const [get, post] = r.calls;
  assert.equal(/** @type {any} */ (get.init.headers)["X-CSRF-Token"], undefined);
  assert.equal(/** @type {any} */ (post.init.headers)["X-CSRF-Token"], "tok");
  assert.equal(post.url, "/v1/agent/conversations/c%2F1/read");
  assert.equal(post.init.body, '{"seq":3}');
  for (const c of r.calls) assert.equal(c.init.credentials, "same-origin");
});

test("refusals become ApiError with the server's message; 401 signs out", async () => {
  let signedOut = 0;
  const r = recorder([
    json(403, { code: "forbidden", message: "still run by its bot" }),
    json(401, { code: "unauthorized", message: "sign in" }),
    new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" }),
    json(429, { code: "rate_limited", message: "slow down" }, { "Retry-After": "120" }),
  ]);
  const api = createApi({ fetch: r.fetch, onUnauthorized: () => signedOut++ });
  await assert.rejects(
    api.action("c", "close"),
    (e) => e instanceof ApiError && e.code === "forbidden" && e.message === "still run by its bot",
  );
  await assert.rejects(api.counts(), (e) => e instanceof ApiError && e.status === 401);
  assert.equal(signedOut, 1);
  await assert.rejects(api.counts(), (e) => e instanceof ApiError && e.code === "http_502" && /502/.test(e.message));
  const limited = await api.login("a@b.c", "x").catch((e) => e);
  assert.equal(limited.retryAfter, 120);
  assert.equal(loginError(limited), "Too many attempts. Try again in 2 minutes.");
  assert.equal(signedOut, 1, "a refused sign-in is not a session end");
});

test("the list query leaves empty filters out and includes the whole 'to' day", () => {
  assert.equal(listQuery("mine", { ...emptyFilters(), status: "" }, null), "view=mine&limit=50");
  const q = new URLSearchParams(
    listQuery("all", { ...emptyFilters(), from: "2024-03-01", to: "2024-03-01", q: " parcel " }, "cur"),
  );
  assert.equal(q.get("status"), "open");
  assert.equal(Number(q.get("to")) - Number(q.get("from")), 86_400_000);
  assert.equal(q.get("q"), "parcel");
  assert.equal(q.get("cursor"), "cur");
});
