// @ts-check
// Benchmark (not a test; nothing asserted): a visitor's message → rendered in an agent's inbox page, against the
// floor of the same path ending at a bare WebSocket client subscribed to the agent feed. 200 messages, one at a
// time, on loopback; both clocks are this machine's (`performance.timeOrigin + performance.now()` in Node and in
// the page).
//
//   cargo build -p chatflow-server && node --experimental-websocket server/web/test/latency.js [COUNT]

import { performance } from "node:perf_hooks";
import { startServer, client, launchBrowser, signIn } from "./harness.js";

const COUNT = Number(process.argv[2] ?? 200);
const GAP_MS = Number(process.env.LATENCY_GAP_MS ?? 0);
const ALICE = { email: "alice@acme.test", password: "alice-inbox-password" };
const ALICE_TOKEN = "cfg_acme_alice_test_token";
const now = () => performance.timeOrigin + performance.now();

/** @param {number[]} xs @param {number} q */
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function main() {
  const server = await startServer();
  const call = client(server.url);
  const browser = await launchBrowser();
  try {
    const v = await call("POST", "/v1/apps/app_acme/visitors", "", undefined);
    const conv = await call("POST", "/v1/conversations", v.visitor_token, { chatflow_id: 2 });
    await call("PUT", `/v1/conversations/${conv.id}/messages/warm`, v.visitor_token, { body: "warm-up" });

    // The floor: a bare feed client.
    /** @type {Map<string, number>} */
    const floorSeen = new Map();
    const ws = new WebSocket(
      server.url.replace(/^http/, "ws") + "/v1/agent/feed",
      /** @type {any} */ ({
        headers: { Authorization: `Bearer ${ALICE_TOKEN}` },
      }),
    );
    await new Promise((resolve, reject) => {
      ws.onmessage = (ev) => {
        const frame = JSON.parse(String(ev.data));
        if (frame.type === "ready") resolve(null);
        if (frame.type === "message") floorSeen.set(frame.message.body, now());
      };
      ws.onerror = () => reject(new Error("the feed refused the bare client"));
    });

    // The page, with the conversation open; an observer notes when each message's bubble appears.
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    await signIn(page, server.url, ALICE);
    await page.locator("button.row", { hasText: "warm-up" }).click();
    await page.locator("#messages .bubble", { hasText: "warm-up" }).waitFor();
    await page.evaluate(() => {
      const seen = /** @type {Record<string, number>} */ ({});
      /** @type {any} */ (window).__seen = seen;
      new MutationObserver(() => {
        for (const b of document.querySelectorAll("#messages .bubble")) {
          const t = b.textContent ?? "";
          if (t.startsWith("bench-") && !(t in seen)) seen[t] = performance.timeOrigin + performance.now();
        }
      }).observe(document.body, { childList: true, subtree: true, characterData: true });
    });

    // LATENCY_PROFILE=1: the page's JavaScript profile over the run, self time per function (where the page's share goes).
    const cdp = process.env.LATENCY_PROFILE ? await page.context().newCDPSession(page) : null;
    if (cdp) {
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.start");
    }
    /** @type {number[]} */ const floor = [];
    /** @type {number[]} */ const rendered = [];
    for (let i = 0; i < COUNT; i++) {
      // LATENCY_GAP_MS: a pause before each message. Without it each message leaves just as the page shows the
      // previous one, so it arrives while the browser lays out and paints that one (the worst case).
      await new Promise((r) => setTimeout(r, GAP_MS));
      const body = `bench-${i}`;
      const t0 = now();
      await call("PUT", `/v1/conversations/${conv.id}/messages/b${i}`, v.visitor_token, { body });
      const at = await page.waitForFunction((b) => /** @type {any} */ (window).__seen[b], body, { timeout: 10_000 });
      rendered.push(Number(await at.jsonValue()) - t0);
      while (!floorSeen.has(body)) await new Promise((r) => setTimeout(r, 1));
      floor.push(/** @type {number} */ (floorSeen.get(body)) - t0);
    }
    ws.close();
    if (cdp) {
      const { profile } = await cdp.send("Profiler.stop");
      const interval = (profile.endTime - profile.startTime) / 1000 / (profile.samples?.length ?? 1);
      /** @type {Map<string, number>} */
      const self = new Map();
      for (const node of profile.nodes) {
        const f = node.callFrame;
        const name = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;
        self.set(name, (self.get(name) ?? 0) + (node.hitCount ?? 0) * interval);
      }
      for (const [name, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15))
        console.log(`${ms.toFixed(0).padStart(7)} ms  ${name}`);
    }
    if (process.env.LATENCY_TRACE) {
      const diff = rendered.map((r, i) => r - floor[i]);
      for (let i = 0; i < diff.length; i += 20)
        console.log(`messages ${i}..${i + 19}: page − floor p50 ${quantile(diff.slice(i, i + 20), 0.5).toFixed(1)} ms`);
    }
    const row = (/** @type {string} */ name, /** @type {number[]} */ xs) =>
      `${name.padEnd(28)} p50 ${quantile(xs, 0.5).toFixed(1).padStart(6)} ms   p99 ${quantile(xs, 0.99).toFixed(1).padStart(6)} ms`;
    console.log(`visitor send → agent, ${COUNT} messages, loopback, ${GAP_MS} ms between messages`);
    console.log(row("bare feed client (floor)", floor));
    console.log(row("rendered in the inbox page", rendered));
    const paired = rendered.map((r, i) => r - floor[i]);
    console.log(
      `per message, page − floor: p50 ${quantile(paired, 0.5).toFixed(1)} ms, p99 ${quantile(paired, 0.99).toFixed(1)} ms`,
    );
    console.log(
      `the page adds p50 ${(quantile(rendered, 0.5) - quantile(floor, 0.5)).toFixed(1)} ms, ` +
        `p99 ${(quantile(rendered, 0.99) - quantile(floor, 0.99)).toFixed(1)} ms over the floor`,
    );
  } finally {
    await browser.close();
    server.stop();
  }
}

await main();
