// @ts-check
// The inbox end to end, as the scenario: the visitor is the real SDK (the `chatflow` command-line sample
// app, its chat driven line by line through a pipe, its events read as JSON Lines), the agents are people in Debian's
// Chromium signed in to the real server's `/inbox/` (temp database, test seed), nothing in between.
//
//   cargo build -p chatflow-server -p chatflow-cli && node server/web/test/e2e.js
//
// Screenshots of the list, the conversation and the visitor panel go to test/output/ (git-ignored).

import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import assert from "node:assert/strict";
import { OUT, SEED, CLI_BIN, startServer, client, launchBrowser, watchProblems, signIn } from "./harness.js";
import { download, pdf, png, sha256, visitorUpload } from "./files.js";

const ALICE = { email: "alice@acme.test", password: "alice-inbox-password" };
// Made by the apps' admins through the admin API at the start of the test.
const DANA = { email: "dana@acme.test", password: "dana-inbox-password" };
const GINA = { email: "gina@globex.test", password: "gina-inbox-password" };
const ALICE_TOKEN = "cfg_acme_alice_test_token";
const XSS = "<img src=x onerror=alert(1)>";
const NOTE = "Internal: refund approved by finance";
const WAIT = { timeout: 15_000 };

/**
 * The visitor: `chatflow --json chat --tag help` with its stdin as the keyboard and its JSON Lines as what the app
 * shows. Chatflow "Support (overflow)" (tag `help`) leaves new conversations unassigned.
 * @param {string} serverUrl
 */
function startVisitor(serverUrl) {
  if (!existsSync(CLI_BIN)) throw new Error(`${CLI_BIN} is missing: run \`cargo build -p chatflow-cli\``);
  const dir = mkdtempSync(join(tmpdir(), "inbox-e2e-visitor-"));
  const config = join(dir, "chatflow.json");
  execFileSync(CLI_BIN, ["demo-config", "--server-url", serverUrl, "--seed", SEED, "--out", config]);
  const child = spawn(CLI_BIN, ["--json", "-c", config, "--data-dir", join(dir, "data"), "chat", "--tag", "help"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stderr.resume();
  /** @type {any[]} */
  const events = [];
  /** @type {string[]} */
  const raw = [];
  /** @type {(() => void)[]} */
  let waiters = [];
  createInterface({ input: /** @type {import("node:stream").Readable} */ (child.stdout) }).on("line", (line) => {
    raw.push(line);
    events.push(JSON.parse(line));
    for (const w of waiters) w();
  });
  return {
    events,
    raw,
    /** @param {string} line */
    type: (line) => child.stdin?.write(`${line}\n`),
    /**
     * Resolves with the first event (from the start) that matches; fails after 15 s with what was seen.
     * @param {(e: any) => boolean} match @param {string} what
     */
    waitFor: (match, what) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (!found) return false;
          waiters = waiters.filter((w) => w !== check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== check);
          reject(new Error(`the visitor's app never showed ${what}; events:\n${raw.slice(-20).join("\n")}`));
        }, WAIT.timeout);
        if (!check()) waiters.push(check);
      }),
    stop: () => {
      child.stdin?.end();
      child.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A message the team wrote, as the visitor's app received it. */
const teamMessage = (/** @type {string} */ body) => (/** @type {any} */ e) =>
  e.event === "messages" && e.messages.some((/** @type {any} */ m) => m.body === body && m.author_kind !== "visitor");

/**
 * Files from Alice reach the visitor's app with the reply, byte-identical; a file above the app's limit is refused in
 * the page; a REST visitor's screenshot shows as a thumbnail in Alice's inbox, live.
 * @param {import("playwright-core").Page} alice
 * @param {(method: string, path: string, token: string, body: unknown) => Promise<any>} call @param {string} base
 * @param {string} conversationId @param {ReturnType<typeof startVisitor>} visitor
 */
async function attachments(alice, call, base, conversationId, visitor) {
  const files = [
    { name: "label.pdf", mimeType: "application/pdf", buffer: pdf("Return label A-77") },
    { name: "parcel.png", mimeType: "image/png", buffer: png(800, 600) },
  ];
  await alice.locator(".composer input[type=file]").setInputFiles(files);
  await alice.locator(".composer textarea").fill("Your return label and the photo");
  await alice.keyboard.press("Enter");
  const withFiles = await visitor.waitFor(teamMessage("Your return label and the photo"), "the reply with files");
  await alice.waitForSelector("#messages article.msg.agent .att-image img", WAIT);
  const stored = await call("GET", `/v1/agent/conversations/${conversationId}/messages`, ALICE_TOKEN, undefined);
  const atts = stored.messages.at(-1).attachments;
  assert.deepEqual(
    atts.map((/** @type {any} */ a) => [a.file_name, a.sha256]),
    files.map((f) => [f.name, sha256(f.buffer)]),
  );
  for (const [i, a] of atts.entries()) {
    assert.deepEqual((await download(base, ALICE_TOKEN, a.id, true)).bytes, files[i].buffer);
  }
  const seen = withFiles.messages.find((/** @type {any} */ m) => m.body === "Your return label and the photo");
  console.log("the visitor's app received:", JSON.stringify(seen.attachments ?? "(its events do not list files)"));

  // Too large for the app's limit: refused in the page before any byte moves, with the limit in the message.
  await alice
    .locator(".composer input[type=file]")
    .setInputFiles([{ name: "scan.pdf", mimeType: "application/pdf", buffer: pdf("x".repeat(300_000)) }]);
  await alice.waitForFunction(() => /at most/.test(document.getElementById("toast-error")?.textContent ?? ""));
  console.log("too large, refused in the page:", await alice.locator("#toast-error").textContent());
  assert.equal(await alice.locator(".pending-file").count(), 0, "the file is not kept");

  // A visitor's screenshot (through REST, as the SDK uploads): a thumbnail in Alice's inbox, live.
  const pat = await call("POST", "/v1/apps/app_acme/visitors", "", undefined);
  const pics = await call("POST", "/v1/conversations", pat.visitor_token, { chatflow_id: 2 });
  await call("PUT", `/v1/conversations/${pics.id}/messages/p1`, pat.visitor_token, { body: "My screen:" });
  const upload = await visitorUpload(base, pat.visitor_token, "screen.png", "image/png", png());
  await call("PUT", `/v1/conversations/${pics.id}/messages/p2`, pat.visitor_token, {
    body: "",
    attachments: [upload],
  });
  await alice.locator("button.view", { hasText: "All conversations" }).click();
  const pictures = alice.locator("button.row", { hasText: "📎 screen.png" }); // the list line of a file-only message
  await pictures.waitFor(WAIT);
  await pictures.click();
  await alice.waitForFunction(
    () => {
      const img = document.querySelector("#messages .att-image img");
      return img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0 && img.alt === "screen.png";
    },
    null,
    WAIT,
  );
  await alice.screenshot({ path: join(OUT, "e2e-4-attachments.png") });
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const server = await startServer();
  const call = client(server.url);
  const browser = await launchBrowser();
  const visitor = startVisitor(server.url);
  /** @type {string[]} */
  const problems = [];
  try {
    /** @param {string} who */
    const agentPage = async (who, /** @type {{email: string, password: string}} */ agent) => {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      const page = await context.newPage();
      watchProblems(page, problems, who);
      await signIn(page, server.url, agent);
      return page;
    };
    await call("POST", "/v1/admin/agents", "cfa_acme_admin_test_token", { display_name: "Dana", ...DANA });
    await call("POST", "/v1/admin/agents", "cfa_globex_admin_test_token", { display_name: "Gina", ...GINA });
    // The app's file limit, which the page loads at sign-in and checks before uploading.
    await call("PUT", "/v1/admin/attachments", "cfa_acme_admin_test_token", { max_bytes: 200_000 });
    const alice = await agentPage("alice", ALICE);
    const dana = await agentPage("dana", DANA);
    const gina = await agentPage("gina (another app)", GINA);

    // The visitor writes: Alice's list shows it without a reload.
    const first = "Hi, my parcel A-77 never arrived";
    visitor.type(first);
    const sent = await visitor.waitFor((e) => e.event === "queued", "the message queued");
    const conversationId = sent.message.conversation_id;
    const row = alice.locator("button.row", { hasText: first });
    await row.waitFor(WAIT);
    await alice.screenshot({ path: join(OUT, "e2e-1-list.png") });

    // Alice opens it and sees the visitor typing.
    await row.click();
    await alice.waitForSelector("#messages article.msg", WAIT);
    visitor.type("/typing");
    await alice.waitForFunction(
      () => /is typing/.test(document.querySelector("#typing")?.textContent ?? ""),
      null,
      WAIT,
    );

    // Alice replies with Enter; the SDK receives it.
    const reply = "Sorry about that! Let me check with the carrier.";
    await alice.locator(".composer textarea").fill(reply);
    await alice.keyboard.press("Enter");
    await visitor.waitFor(teamMessage(reply), "Alice's reply");

    // An internal note: shown to the team, never to the visitor.
    await alice.locator(".composer .tab", { hasText: "Note" }).click();
    await alice.locator(".composer textarea").fill(NOTE);
    await alice.keyboard.press("Enter");
    await alice.locator("#messages .msg.note", { hasText: NOTE }).waitFor(WAIT);
    await alice.locator(".composer .tab", { hasText: "Reply" }).click();

    // A canned response inserted by its shortcut, placeholders expanded, then sent.
    await call("POST", "/v1/agent/canned-responses", ALICE_TOKEN, {
      shortcut: "found",
      title: "Parcel found",
      text: "Good news: {agent_name} found your parcel.",
    });
    await alice.reload(); // the composer loads the app's canned responses when the page starts
    await alice.locator("button.row", { hasText: "Sorry about that" }).click();
    await alice.locator(".composer textarea").focus();
    await alice.keyboard.type("/found");
    await alice.waitForSelector("#canned-menu:not([hidden])", WAIT);
    await alice.keyboard.press("Enter");
    const expanded = await alice.locator(".composer textarea").inputValue();
    assert.match(expanded, /^Good news: Alice\b.* found your parcel\.$/, "placeholders expanded");
    await alice.keyboard.press("Enter");
    await visitor.waitFor(teamMessage(expanded), "the canned response");
    await alice.screenshot({ path: join(OUT, "e2e-2-conversation.png") });

    // Dana's page: assigned to her by Alice, her "Assigned to me" view updates live.
    await dana.locator("button.view", { hasText: "Assigned to me" }).click();
    const assign = alice.locator('#conv-actions button[aria-haspopup="menu"]').first();
    await assign.click();
    await alice.getByRole("menuitem", { name: /^Dana/ }).click();
    await dana.locator("button.row", { hasText: "found your parcel" }).waitFor(WAIT);

    // Closed; the visitor writes again; the conversation is back in the open list.
    await alice.getByRole("button", { name: "✓ Close" }).click();
    await alice.waitForSelector('#conv-actions button:has-text("Reopen")', WAIT);
    const again = "One more thing: can you deliver to my office?";
    visitor.type(again);
    await alice.locator("button.row", { hasText: again }).waitFor(WAIT);
    await alice.waitForSelector('#conv-actions button:has-text("✓ Close")', WAIT);

    // Text, never markup: a visitor message that would run a script in an HTML sink.
    visitor.type(XSS);
    await alice.locator("#messages .bubble", { hasText: XSS }).waitFor(WAIT);
    assert.equal(await alice.locator("#messages img").count(), 0, "no element made from the visitor's text");
    await alice.waitForSelector("#sidebar .contact-name", WAIT);
    await alice.screenshot({ path: join(OUT, "e2e-3-sidebar.png") });

    await attachments(alice, call, server.url, conversationId, visitor);

    // The visitor's app never saw the note, in any event.
    await visitor.waitFor(teamMessage(expanded), "the canned response");
    assert.ok(!visitor.raw.some((l) => l.includes(NOTE)), "the internal note never reached the visitor");

    // An agent of another app saw nothing of it.
    const ginaText = await gina.locator("body").innerText();
    assert.ok(![first, again, reply, NOTE].some((t) => ginaText.includes(t)), "another app's agent sees nothing");
    const ginaOpen = await gina.evaluate(
      async (id) => (await fetch(`/v1/agent/conversations/${id}`)).status,
      conversationId,
    );
    assert.equal(ginaOpen, 404, "another app's conversation does not exist for Gina");

    // CSRF: a write made with the cookie but without the page's token is refused.
    const csrf = await alice.evaluate(async (id) => {
      const res = await fetch(`/v1/agent/conversations/${id}/close`, { method: "POST" });
      return { status: res.status, body: await res.json() };
    }, conversationId);
    assert.equal(csrf.status, 403);
    assert.equal(csrf.body.code, "csrf_failed");

    // Sign-in throttling: failures in a row for one email are refused for a while, and the page says so.
    const context = await browser.newContext();
    const page = await context.newPage();
    watchProblems(page, problems, "sign-in");
    await page.goto(`${server.url}/inbox/`);
    await page.waitForSelector("#login-email:focus");
    let status = 0;
    let retryAfter = null;
    for (let i = 0; i < 30 && status !== 429; i++) {
      const res = await fetch(`${server.url}/v1/agent/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email: DANA.email, password: `wrong-${i}` }),
      });
      status = res.status;
      retryAfter = res.headers.get("retry-after");
    }
    assert.equal(status, 429, "sign-in attempts are throttled");
    assert.match(String(retryAfter), /^\d+$/);
    await page.locator("#login-email").fill(DANA.email);
    await page.locator("#login-password").fill(DANA.password);
    await page.keyboard.press("Enter");
    await page.waitForFunction(() =>
      /try again/i.test(document.querySelector('#login [role="alert"]')?.textContent ?? ""),
    );
  } finally {
    visitor.stop();
    await browser.close();
    server.stop();
  }
  assert.deepEqual(problems, [], "no script error, CSP violation or dialog");
  console.log(`end-to-end inbox test passed; screenshots in ${OUT}`);
}

await main();
