// @ts-check
// The browser check: Debian's Chromium (headless, driven by playwright-core) against the real chatflow-server (temp
// database, test seed) serving the page at /inbox/, signed in as Alice with her password. It creates conversations as
// the mobile SDK would, then uses the inbox like an agent — keyboard included — and saves screenshots in test/output/
// for a person to look at.
//
//   cargo build -p chatflow-server && node server/web/test/browser.js
//
// CHATFLOW_SERVER_BIN overrides the binary (default: target/debug/chatflow-server of this checkout).

import { mkdtempSync, mkdirSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { OUT, CHROMIUM, CHROMIUM_ARGS, startServer, client, signIn, watchProblems } from "./harness.js";
import { download, pdf, png, sha256, visitorUpload } from "./files.js";

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/**
 * Runs axe-core (WCAG 2 A/AA rules) on the page as it is; returns "rule (impact): n nodes" for each violation.
 * @param {import("playwright-core").Page} page
 */
async function accessibilityViolations(page) {
  await page.evaluate(AXE); // DevTools evaluation: not subject to the page's CSP
  const result = await page.evaluate(() =>
    /** @type {any} */ (window).axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    }),
  );
  return /** @type {{id: string, impact: string, nodes: {target: string[]}[]}[]} */ (result.violations).map(
    (v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
}

const ALICE = "cfg_acme_alice_test_token";
const ALICE_SIGN_IN = { email: "alice@acme.test", password: "alice-inbox-password" };
const ADMIN = "cfa_acme_admin_test_token";
const XSS = "<img src=x onerror=alert(1)>";

/** Conversations the way the SDK makes them: a visitor, properties, a device, a conversation, messages. */
async function seedConversations(/** @type {ReturnType<typeof client>} */ call) {
  let n = 0;
  const visitor = async (/** @type {Record<string, string>} */ properties) => {
    const v = await call("POST", "/v1/apps/app_acme/visitors", "", undefined);
    if (Object.keys(properties).length) await call("PUT", "/v1/visitor/properties", v.visitor_token, { properties });
    await call("PUT", "/v1/visitor/device", v.visitor_token, {
      platform: "ios",
      os_version: "18.2",
      app_version: "4.12.0",
      device_model: "iPhone15,3",
      locale: "en-GB",
      sdk_version: "0.1.0",
    });
    return v.visitor_token;
  };
  const open = async (/** @type {string} */ token, /** @type {number} */ chatflow, /** @type {string[]} */ texts) => {
    const c = await call("POST", "/v1/conversations", token, { chatflow_id: chatflow });
    for (const body of texts) await call("PUT", `/v1/conversations/${c.id}/messages/m${++n}`, token, { body });
    return c.id;
  };
  const jane = await visitor({ name: "Jane Doe", email: "jane@example.com", plan: "Business", order: "A-1042" });
  const parcel = await open(jane, 2, [
    "Hello! My parcel is late.",
    "The order number is A-1042, it was due on Monday.",
  ]);
  await call("POST", `/v1/agent/conversations/${parcel}/messages`, ALICE, {
    body: "Sorry about that, Jane! Let me check with the carrier.",
  });
  await call("POST", `/v1/conversations/${parcel}/read`, jane, { seq: 3 });
  await call("PUT", `/v1/conversations/${parcel}/messages/m${++n}`, jane, {
    body: "Thanks, I'll wait.\nI'm home all day.",
  });

  const eve = await visitor({ name: XSS, email: "eve@example.com" });
  const xss = await open(eve, 2, [XSS, "<script>alert(2)</script> **bold** & <b>tags</b>"]);

  const marc = await visitor({ first_name: "Marc", last_name: "Lefèvre" });
  await open(marc, 1, ["Bonjour, je ne trouve pas ma facture de mars."]);
  const anon = await visitor({});
  const closed = await open(anon, 2, ["How do I change my payment method?"]);
  await call("POST", `/v1/agent/conversations/${closed}/messages`, ALICE, {
    body: "Account > Billing > Payment method. Anything else?",
  });
  await call("POST", `/v1/agent/conversations/${closed}/close`, ALICE, undefined);
  const spammer = await visitor({ name: "Cheap Watches" });
  const spam = await open(spammer, 2, ["Buy cheap watches now!!!"]);
  await call("POST", `/v1/agent/conversations/${spam}/block`, ALICE, undefined);

  // A bot conversation with quick replies, the visitor having tapped one.
  const bot = await call("POST", "/v1/admin/chatflows", ADMIN, {
    name: "Helper bot",
    kind: "bot",
    enabled: true,
    priority: 1,
    mobile_tags: ["helper"],
    language: "en",
    welcome_message: "Hi! I'm the helper.",
    header: { display_name: "Helper" },
    email_capture: { mode: "never" },
    routing: { mode: "specific", agent_ids: ["ag_alice"], available_agents_only: false },
    availability: { mode: "always", when_away: "away_message", away_message: "Away" },
    knowledge_base: { enabled: false },
    consent: { process_data: { mode: "off" } },
    bot: {
      session_timeout_minutes: 600,
      message_delay_ms: 0,
      display_name: "Helper bot",
      flow: {
        start: "topic",
        nodes: [
          {
            id: "topic",
            action: "ask",
            text: "What is it about?",
            quick_replies: [
              { id: "billing", label: "Billing" },
              { id: "delivery", label: "Delivery" },
            ],
            next: "more",
          },
          { id: "more", action: "ask", text: "Tell me more.", allow_free_text: true, next: "human" },
          { id: "human", action: "handoff", text: "Getting someone." },
        ],
      },
    },
  });
  const sam = await visitor({ name: "Sam Bot-User" });
  const botConv = await call("POST", "/v1/conversations", sam, { chatflow_id: bot.id });
  await new Promise((r) => setTimeout(r, 300)); // the bot's welcome and question, sent by the server
  await call("PUT", `/v1/conversations/${botConv.id}/messages/m${++n}`, sam, {
    body: "Billing",
    quick_reply_id: "billing",
  });
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < 2; i++)
    await open(await visitor({ name: `Customer ${i + 1}` }), 2, [`Question number ${i + 1} about my account`]);
  const long = await open(
    await visitor({ name: "Long History" }),
    2,
    Array.from({ length: 56 }, (_, i) => `Message ${i + 1}`),
  );
  // A visitor who sends a screenshot and a PDF whose name is markup, with no text.
  const pat = await visitor({ name: "Pat Pictures" });
  const pics = await open(pat, 2, ["Here is what I see:"]);
  const uploads = [
    await visitorUpload(call.base, pat, "screen.png", "image/png", png()),
    await visitorUpload(call.base, pat, `${XSS}.pdf`, "application/pdf", pdf()),
  ];
  await call("PUT", `/v1/conversations/${pics}/messages/m${++n}`, pat, { body: "", attachments: uploads });
  return { parcel, xss, closed, spam, bot: botConv.id, long, pics, pat };
}

/**
 * Attachments: the visitor's image as a thumbnail that opens the full image, a file with a hostile name as a text
 * chip; Alice sends a PDF and an image the visitor downloads byte-identical; a file above the server's limit is
 * refused with the server's message and the text stays.
 * @param {import("playwright-core").Page} page @param {import("playwright-core").BrowserContext} context
 * @param {ReturnType<typeof client>} call @param {{pics: string, pat: string}} ids
 */
async function attachments(page, context, call, ids) {
  await page.locator("button.row", { hasText: "Pat Pictures" }).click();
  await page.locator("#messages .att-image img").waitFor();
  await page.waitForFunction(() => {
    const img = document.querySelector("#messages .att-image img");
    return img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0;
  });
  assert.equal(await page.locator("#messages .att-image img").getAttribute("alt"), "screen.png");
  assert.deepEqual(await page.locator("#messages .att-file .att-name").allTextContents(), [`${XSS}.pdf`]);
  assert.equal(await page.locator("#messages img").count(), 1, "the only image is the thumbnail: names stay text");
  const preview = await page.locator("button.row", { hasText: "Pat Pictures" }).locator(".row-title").textContent();
  assert.equal(preview, `📎 screen.png, ${XSS}.pdf`, "the list line of a message with files only names them");
  await page.screenshot({ path: join(OUT, "8-attachments.png") });
  const a11y = await accessibilityViolations(page);
  console.log("axe-core, attachments:", a11y.length ? a11y : "no violation");
  if (a11y.length) throw new Error(`accessibility: ${a11y.join("; ")}`);

  // Enter on the thumbnail opens the full image (the download route) in a new tab.
  await page.locator("#messages .att-image a").focus();
  const [tab] = await Promise.all([context.waitForEvent("page"), page.keyboard.press("Enter")]);
  await tab.waitForLoadState();
  assert.match(tab.url(), /\/v1\/agent\/attachments\/[^/]+$/);
  assert.equal(await tab.evaluate(() => document.images[0]?.naturalWidth), 480, "the full image, not the thumbnail");
  await tab.close();

  // Alice attaches a PDF and an image: progress, then the reply carries both; the visitor gets the same bytes.
  const files = [
    { name: "invoice.pdf", mimeType: "application/pdf", buffer: pdf("Invoice for Pat") },
    { name: "photo.png", mimeType: "image/png", buffer: png(640, 400) },
  ];
  await page.locator(".composer input[type=file]").setInputFiles(files);
  await page.waitForSelector(".pending-file >> nth=1");
  await page.locator(".composer textarea").focus();
  await page.keyboard.type("Here is your invoice");
  await page.screenshot({ path: join(OUT, "9-attach-pending.png") });
  await page.keyboard.press("Enter");
  await page.waitForSelector("#messages article.msg.agent .attachments .att-image img");
  assert.equal(await page.locator(".pending-files").isHidden(), true, "the waiting files are gone once sent");
  /** @type {any} */
  const page1 = await call("GET", `/v1/conversations/${ids.pics}/messages`, ids.pat, undefined);
  /** @type {any} */
  const sent = page1.messages.at(-1);
  assert.equal(sent.body, "Here is your invoice");
  assert.deepEqual(
    sent.attachments.map((/** @type {any} */ a) => [a.file_name, a.mime_type, a.sha256]),
    files.map((f) => [f.name, f.mimeType, sha256(f.buffer)]),
  );
  for (const [i, a] of sent.attachments.entries()) {
    const got = await download(call.base, ids.pat, a.id);
    assert.equal(got.status, 200);
    assert.deepEqual(got.bytes, files[i].buffer, `${a.file_name} arrives byte-identical`);
  }

  // Above the server's limit (lowered after the page loaded it): the server's message, the text and file stay.
  await call("PUT", "/v1/admin/attachments", ADMIN, { max_bytes: 2000 });
  await page
    .locator(".composer input[type=file]")
    .setInputFiles([{ name: "big.pdf", mimeType: "application/pdf", buffer: pdf("x".repeat(5000)) }]);
  await page.locator(".composer textarea").focus();
  await page.keyboard.type("Too big?");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => (document.getElementById("toast-error")?.textContent ?? "") !== "");
  const refusal = await page.locator("#toast-error").textContent();
  console.log("too large, the server's message:", refusal);
  assert.match(refusal ?? "", /big\.pdf/);
  assert.equal(await page.locator(".composer textarea").inputValue(), "Too big?", "the text stays");
  await page.getByRole("button", { name: "Remove big.pdf" }).click();
  assert.equal(await page.locator(".pending-file").count(), 0);
  await page.locator(".composer textarea").fill("");
  await call("PUT", "/v1/admin/attachments", ADMIN, { max_bytes: 25 * 1024 * 1024 });
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const server = await startServer();
  const call = client(server.url);
  const ids = await seedConversations(call);
  const profile = mkdtempSync(join(tmpdir(), "inbox-web-chromium-"));
  // A fresh user-data dir for each run (playwright passes it as --user-data-dir).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ["--headless", ...CHROMIUM_ARGS],
    viewport: { width: 1440, height: 900 },
    acceptDownloads: true,
  });
  /** @type {string[]} */
  const problems = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    watchProblems(page, problems, "alice");

    await signIn(page, server.url, ALICE_SIGN_IN);
    await page.waitForSelector("button.row");
    const names = await page.locator("button.row .row-name").allTextContents();
    console.log("list (all, open):", names);
    assert.ok(names.includes("Jane Doe") && names.includes("Marc Lefèvre"), "the open conversations are listed");
    assert.ok(!names.includes("Cheap Watches"), "a blocked sender is not in All");
    assert.ok(!names.some((n) => n.startsWith("Sam")), "a bot conversation is not in All");
    assert.equal(names.filter((n) => n === XSS).length, 1, "the name is shown as text");
    assert.equal(await page.locator("#list img").count(), 0);
    assert.ok((await page.locator("button.row.unread").count()) >= 3, "unread rows are marked");
    await page.screenshot({ path: join(OUT, "1-list.png") });
    await page.locator("details.filters summary").click(); // the filters open, so they are checked too
    const listA11y = await accessibilityViolations(page);
    console.log("axe-core, list:", listA11y.length ? listA11y : "no violation");
    problems.push(...listA11y.map((v) => `accessibility: ${v}`));
    await page.locator("details.filters summary").click();

    // The DOM helper in the real browser: strings are text, no handler attributes, only http(s) links.
    const dom = await page.evaluate(async (url) => {
      const { h } = /** @type {typeof import("../inbox/dom.js")} */ (await import(url));
      const p = h("p", { title: "<b>" }, "<b>bold</b>", 3, null, ["<i>x</i>"]);
      const link = h("a", { href: "javascript:alert(1)" }, "x");
      const web = h("a", { href: "https://help.example/a?b=1" }, "x");
      let refused = 0;
      for (const attrs of [{ onclick: "alert(1)" }, { style: "color:red" }, { ONerror: "x" }]) {
        try {
          h("div", attrs);
        } catch {
          refused++;
        }
      }
      return {
        text: p.textContent,
        elements: p.children.length,
        title: p.title,
        link: link.hasAttribute("href"),
        web: web.getAttribute("href"),
        refused,
      };
    }, "/inbox/dom.js");
    assert.deepEqual(dom, {
      text: "<b>bold</b>3<i>x</i>",
      elements: 0,
      title: "<b>",
      link: false,
      web: "https://help.example/a?b=1",
      refused: 3,
    });

    // Open the XSS conversation with the keyboard: focus the list, arrows, Enter.
    await page.locator("button.row").first().focus();
    const rows = await page.locator("button.row").count();
    let opened = false;
    for (let i = 0; i < rows && !opened; i++) {
      if ((await page.evaluate(() => document.activeElement?.querySelector(".row-name")?.textContent)) === XSS) {
        await page.keyboard.press("Enter");
        opened = true;
      } else await page.keyboard.press("ArrowDown");
    }
    assert.ok(opened, "rows are reachable with the arrow keys");
    await page.waitForSelector("#messages article.msg");
    const bodies = await page.locator("#messages .bubble").allTextContents();
    assert.equal(bodies[0], XSS, "the message shows as text");
    assert.equal(await page.locator("#messages img, #messages script, #messages b").count(), 0, "no markup from data");
    assert.equal(
      await page.locator(".composer textarea").evaluate((el) => el === document.activeElement),
      true,
      "the composer has the focus",
    );

    // Reply: Shift+Enter makes a new line, Enter sends; the server stores exactly that text.
    await page.keyboard.type("Hello, how can I help?");
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.type("Line two <i>not markup</i>");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#messages article.msg.agent");
    const stored = await call("GET", `/v1/agent/conversations/${ids.xss}/messages`, ALICE, undefined);
    assert.equal(stored.messages.at(-1).body, "Hello, how can I help?\nLine two <i>not markup</i>");
    assert.equal(await page.locator(".composer textarea").inputValue(), "", "the composer is cleared after sending");
    const row = await call("GET", `/v1/agent/conversations/${ids.xss}`, ALICE, undefined);
    assert.equal(row.conversation.assignee?.id, "ag_alice", "replying took the unassigned conversation");
    assert.equal(row.conversation.agent_read_seq, 3, "opening it marked it read");

    // Canned responses: "/" opens the menu, Esc closes it and leaves the text.
    await page.keyboard.type("/");
    await page.waitForSelector("#canned-menu:not([hidden])");
    assert.equal(
      await page.locator(".composer textarea").getAttribute("aria-activedescendant"),
      null,
      "no option without responses",
    );
    await page.keyboard.press("Escape");
    await page.waitForSelector("#canned-menu[hidden]", { state: "attached" });
    await page.keyboard.press("Backspace");

    // History paging: the latest 50 first, then the earlier ones above, in order.
    await page.locator("button.row", { hasText: "Long History" }).click();
    await page.waitForSelector('#messages button:has-text("Load earlier messages")');
    assert.equal(await page.locator("#messages article.msg").count(), 50);
    await page.locator('#messages button:has-text("Load earlier messages")').click();
    await page.waitForSelector("#messages p.start");
    const history = await page.locator("#messages .bubble").allTextContents();
    assert.deepEqual(
      history,
      Array.from({ length: 56 }, (_, i) => `Message ${i + 1}`),
    );

    await attachments(page, context, call, ids);

    // Jane's conversation: agent message read by the visitor, multi-line text, sidebar.
    await page.locator("button.row", { hasText: "Jane Doe" }).click();
    await page.waitForSelector("#messages .msg-state.read");
    await page.waitForSelector("#sidebar .contact-name");
    await page.screenshot({ path: join(OUT, "2-conversation.png") });
    const a11y = await accessibilityViolations(page);
    console.log("axe-core, conversation view:", a11y.length ? a11y : "no violation");
    problems.push(...a11y.map((v) => `accessibility: ${v}`));

    // Assign with the keyboard: the menu opens with ArrowDown, Esc closes it, Enter picks.
    const assign = page.locator('#conv-actions button[aria-haspopup="menu"]').first();
    await assign.focus();
    await page.keyboard.press("ArrowDown");
    await page.waitForSelector('[role="menu"]:not([hidden]) [role="menuitem"]');
    await page.screenshot({ path: join(OUT, "3-assign-menu.png") });
    await page.keyboard.press("Escape");
    assert.equal(await assign.evaluate((el) => el === document.activeElement), true, "Esc gives the focus back");
    // ↓ opens on the first enabled item: Bob ("Assign to me" is disabled: it is mine already).
    await page.keyboard.press("ArrowDown");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Bobaway");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector(".toast")?.textContent === "Assigned to Bob.");
    const assigned = await call("GET", `/v1/agent/conversations/${ids.parcel}`, ALICE, undefined);
    assert.equal(assigned.conversation.assignee?.id, "ag_bob", "manual assignment to an away agent");

    // A ticket for this conversation, from More.
    await page.locator('#conv-actions button:has-text("More")').click();
    await page.getByRole("menuitem", { name: "Create ticket" }).click();
    await page.waitForFunction(() => document.querySelector(".toast")?.textContent === "Ticket created.");
    assert.equal(
      typeof (await call("GET", `/v1/agent/conversations/${ids.parcel}`, ALICE, undefined)).ticket_id,
      "number",
    );

    // Close from the toolbar; the server agrees; the button becomes Reopen.
    await page.getByRole("button", { name: "✓ Close" }).click();
    await page.waitForSelector('#conv-actions button:has-text("Reopen")');
    assert.equal(
      (await call("GET", `/v1/agent/conversations/${ids.parcel}`, ALICE, undefined)).conversation.status,
      "closed",
    );

    // Note mode: the note is stored for the team and shown in place, in the note style; the visitor never gets it.
    await page.locator(".composer .tab", { hasText: "Note" }).click();
    await page.keyboard.type("Customer is VIP");
    await page.keyboard.press("Enter");
    await page.locator("#messages .msg.note", { hasText: "Customer is VIP" }).waitFor();
    assert.equal(await page.locator(".composer textarea").inputValue(), "", "the composer is cleared");
    const notes = await call("GET", `/v1/agent/conversations/${ids.parcel}/notes`, ALICE, undefined);
    assert.deepEqual(
      notes.notes.map((/** @type {any} */ n) => n.body),
      ["Customer is VIP"],
    );
    await page.locator(".composer .tab", { hasText: "Reply" }).click();

    // Bots view: the bot's messages with quick replies as the visitor saw them; take over.
    await page.locator("button.view", { hasText: "Bots" }).click();
    await page.locator("button.row", { hasText: "Sam" }).click();
    await page.waitForSelector("#messages .quick-replies .qr.chosen");
    await page.screenshot({ path: join(OUT, "4-bot.png") });
    const botA11y = await accessibilityViolations(page);
    console.log("axe-core, bot conversation:", botA11y.length ? botA11y : "no violation");
    problems.push(...botA11y.map((v) => `accessibility: ${v}`));
    await page.getByRole("button", { name: "Take over" }).click();
    await page.waitForFunction(() => !document.querySelector("#conv-actions button.primary"));
    assert.equal((await call("GET", `/v1/agent/conversations/${ids.bot}`, ALICE, undefined)).handled_by, "agents");

    // Filtered view: the blocked sender; unblock from More.
    await page.locator("button.view", { hasText: "Filtered" }).click();
    await page.locator("button.row", { hasText: "Cheap Watches" }).click();
    await page.waitForSelector("#conv-header .badge.danger");
    await page.locator('#conv-actions button:has-text("More")').click();
    await page.getByRole("menuitem", { name: /Unblock sender/ }).click();
    await page.waitForFunction(() => document.querySelector(".toast")?.textContent === "Sender unblocked.");
    assert.equal((await call("GET", `/v1/agent/conversations/${ids.spam}`, ALICE, undefined)).blocked, false);

    // Search covers closed conversations too (the status filter follows until the agent picks one).
    await page.locator("button.view", { hasText: "All conversations" }).click();
    await page.locator('input[name="q"]').fill("payment method");
    await page.waitForFunction(() => document.querySelectorAll("button.row").length === 1);
    assert.match((await page.locator("button.row").textContent()) ?? "", /Closed/);
    await page.locator('input[name="q"]').fill("");
    await page.waitForFunction(() => document.querySelectorAll("button.row").length > 1);

    // Closed conversations: the status filter, then the transcript download.
    await page.locator("button.view", { hasText: "All conversations" }).click();
    await page.locator("details.filters summary").click();
    await page.selectOption('select[name="status"]', "closed");
    await page.waitForSelector("button.row >> nth=0");
    await page.locator("button.row", { hasText: "Visitor #" }).first().click();
    await page.locator('#conv-actions button:has-text("More")').click();
    const download = page.waitForEvent("download");
    await page.getByRole("menuitem", { name: /Download transcript/ }).click();
    const file = await download;
    assert.match(file.suggestedFilename(), /^transcript-.*\.txt$/);
    console.log("transcript:", file.suggestedFilename());

    // Presence toggle: the server stores it.
    await page.locator("button.presence").click();
    await page.waitForSelector("button.presence.away");
    const agents = await call("GET", "/v1/agent/agents", ALICE, undefined);
    assert.equal(agents.agents.find((/** @type {any} */ a) => a.id === "ag_alice").available, false);
    await page.locator("button.presence").click();
    await page.waitForSelector("button.presence.available");

    // The narrowest supported width, with the visitor panel open over the conversation.
    await page.setViewportSize({ width: 1024, height: 720 });
    await page.selectOption('select[name="status"]', "open");
    await page
      .locator("button.row", { hasText: "Jane Doe" })
      .first()
      .click()
      .catch(() => {});
    await page.locator("button.row").first().click();
    await page.waitForSelector("#messages article.msg");
    await page.waitForSelector("#sidebar .contact-name");
    assert.equal(
      await page.locator("#sidebar .contact-name").textContent(),
      await page.locator("#conv-heading").textContent(),
      "the visitor panel shows the open conversation's visitor",
    );
    await page.screenshot({ path: join(OUT, "5-1024-sidebar.png") });
    await page.locator("#sidebar button", { hasText: "Hide" }).click();
    await page.waitForSelector("body.sidebar-hidden");
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute("aria-controls")),
      "sidebar",
      "the focus goes back to the toolbar",
    );
    await page.screenshot({ path: join(OUT, "6-1024.png") });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    assert.equal(overflow, false, "no horizontal scrolling at 1024 px");

    // Signed out: the sign-in form, and the server's refusal shown as text.
    await page.locator("button", { hasText: "Sign out" }).click();
    await page.waitForSelector("#login-email:focus");
    await page.keyboard.type("alice@example.com");
    await page.keyboard.press("Tab");
    await page.keyboard.type("wrong password");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => (document.querySelector('#login [role="alert"]')?.textContent ?? "") !== "");
    console.log("sign-in refusal shown:", await page.locator('#login [role="alert"]').textContent());
    await page.screenshot({ path: join(OUT, "7-sign-in.png") });
    const loginA11y = await accessibilityViolations(page);
    console.log("axe-core, sign-in:", loginA11y.length ? loginA11y : "no violation");
    problems.push(...loginA11y.map((v) => `accessibility: ${v}`));
  } finally {
    await context.close();
    server.stop();
    rmSync(profile, { recursive: true, force: true });
  }
  assert.deepEqual(problems, [], "no script error, CSP violation or dialog");
  console.log(`browser check passed; screenshots in ${OUT}`);
}

await main();
