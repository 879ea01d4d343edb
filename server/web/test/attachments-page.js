// @ts-check
// The page's attachment handling in Chromium against the real server: every request reaches it. The one thing the
// test does to the traffic is fault injection: one chunk's PATCH is forwarded with only its first part, then its
// connection is reset, so the page sees a cut while the server keeps what arrived.
// Checks: the visitor's files (uploaded through the real REST routes) drawn as thumbnails and chips, as text under
// the CSP; a 2.5 MiB file sent in 1 MiB chunks, one connection cut mid-way and resumed from the offset the server
// confirmed (GET), the bytes byte-identical (SHA-256 of the server's download); the reply names the upload ids; a
// refusal (the app's limit lowered by its admin) shows the server's message and keeps the text.
//
//   cargo build -p chatflow-server && node server/web/test/attachments-page.js

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";
import { OUT, startServer, client, launchBrowser, signIn, watchProblems } from "./harness.js";
import { download, pdf, png, sha256, visitorUpload } from "./files.js";

const ALICE = { email: "alice@acme.test", password: "alice-inbox-password" };
const ALICE_TOKEN = "cfg_acme_alice_test_token";
const ADMIN = "cfa_acme_admin_test_token";
const XSS = "<img src=x onerror=alert(1)>";
/** Bytes of the cut chunk that reach the server before its connection is reset. */
const KEPT = 300 * 1024;

async function main() {
  mkdirSync(OUT, { recursive: true });
  const server = await startServer();
  const call = client(server.url);

  // The visitor sends a screenshot and a PDF whose name is markup, through the REST routes as the SDK does.
  const v = await call("POST", "/v1/apps/app_acme/visitors", "", undefined);
  await call("PUT", "/v1/visitor/properties", v.visitor_token, { properties: { name: "Pat Pictures" } });
  const c = await call("POST", "/v1/conversations", v.visitor_token, { chatflow_id: 2 });
  const image = png();
  const visitorFiles = [
    await visitorUpload(server.url, v.visitor_token, "screen.png", "image/png", image),
    await visitorUpload(server.url, v.visitor_token, `${XSS}.pdf`, "application/pdf", pdf()),
  ];
  const withFiles = await call("PUT", `/v1/conversations/${c.id}/messages/p1`, v.visitor_token, {
    body: "Here is my screen",
    attachments: visitorFiles,
  });
  const [shot, doc] = withFiles.attachments;
  assert.ok(shot.image, "the server read the screenshot as an image");

  const browser = await launchBrowser();
  /** @type {string[]} */
  const problems = [];
  /** What the page asked of the upload routes, in order (method, then `Upload-Offset` if any). */
  /** @type {string[]} */
  const log = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    watchProblems(page, problems, "alice");

    // Watching only: the page's requests and the server's answers, as they go.
    /** @type {any[]} */
    const declared = [];
    /** @type {any[]} */
    const replies = [];
    /** @type {any[]} */
    const statuses = [];
    let offered = 0;
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (/^\/v1\/agent\/uploads(\/[^/]+)?$/.test(url.pathname)) {
        const offset = request.headers()["upload-offset"];
        log.push(`${request.method()}${request.method() === "POST" ? " declare" : ""}${offset ? " " + offset : ""}`);
        if (request.method() === "POST") declared.push(request.postDataJSON());
        if (request.method() === "PATCH") offered += request.postDataBuffer()?.length ?? 0;
      } else if (/^\/v1\/agent\/conversations\/[^/]+\/messages$/.test(url.pathname) && request.method() === "POST") {
        replies.push(request.postDataJSON());
      }
    });
    page.on("response", async (response) => {
      const request = response.request();
      if (request.method() === "GET" && /\/v1\/agent\/uploads\/[^/]+$/.test(new URL(response.url()).pathname))
        statuses.push(await response.json());
    });

    // Fault injection: the second PATCH (the big file's second chunk) reaches the real server with only its first
    // KEPT bytes (the server keeps them), then its connection is reset; every other request goes through untouched.
    let patches = 0;
    /** @type {any} */
    let cutAnswer = null;
    await page.route(/\/v1\/agent\/uploads\/[^/]+$/, async (route) => {
      const request = route.request();
      if (request.method() !== "PATCH" || ++patches !== 2) return route.continue();
      assert.equal(request.headers()["upload-offset"], String(1024 * 1024), "the cut chunk is the second one");
      const body = /** @type {Buffer} */ (request.postDataBuffer());
      const res = await route.fetch({ postData: body.subarray(0, KEPT) });
      cutAnswer = { status: res.status(), body: await res.json() };
      await route.abort("connectionreset");
    });

    await signIn(page, server.url, ALICE);
    await page.locator("button.row", { hasText: "Pat Pictures" }).click();
    await page.waitForFunction(() => {
      const img = document.querySelector("#messages .att-image img");
      return img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0;
    });
    assert.equal(await page.locator("#messages .att-image img").getAttribute("alt"), "screen.png");
    assert.match(
      String(await page.locator("#messages .att-image img").getAttribute("src")),
      new RegExp(`/v1/agent/attachments/${shot.id}/thumbnail$`),
      "the thumbnail comes from the server's thumbnail route",
    );
    assert.match(
      String(await page.locator("#messages .att-image a").getAttribute("href")),
      new RegExp(`/v1/agent/attachments/${shot.id}$`),
    );
    assert.deepEqual(await page.locator("#messages .att-file .att-name").allTextContents(), [`${XSS}.pdf`]);
    assert.equal(await page.locator("#messages .att-file a").getAttribute("download"), `${XSS}.pdf`);
    assert.match(
      String(await page.locator("#messages .att-file a").getAttribute("href")),
      new RegExp(`/v1/agent/attachments/${doc.id}$`),
    );
    assert.equal(await page.locator("#messages img").count(), 1, "file names never become elements");
    assert.match(String(await page.locator("#messages .att-file").textContent()), new RegExp(`PDF · ${doc.size} B`));

    // A 2.5 MiB file and a small one: chunks, the cut, the resume; then the reply names both uploads.
    const big = Buffer.alloc(2.5 * 1024 * 1024, 7);
    big.set(Buffer.from("%PDF-1.7\n"));
    const small = Buffer.from("Bonjour");
    await page.locator(".composer input[type=file]").setInputFiles([
      { name: "manual.pdf", mimeType: "application/pdf", buffer: big },
      { name: "notes.txt", mimeType: "text/plain", buffer: small },
    ]);
    assert.deepEqual(await page.locator(".pending-file .att-name").allTextContents(), ["manual.pdf", "notes.txt"]);
    await page.screenshot({ path: join(OUT, "attach-1-pending.png") });
    await page.locator(".composer textarea").fill("The manual");
    await page.keyboard.press("Enter");
    await page
      .locator("#messages article.msg.agent .att-file", { hasText: "notes.txt" })
      .waitFor({ timeout: 20_000 })
      .catch(async (e) => {
        console.log("toast:", await page.locator("#toast-error").textContent());
        await page.screenshot({ path: join(OUT, "attach-failed.png") });
        throw e;
      });
    await page.screenshot({ path: join(OUT, "attach-2-sent.png") });
    console.log("upload requests:", log.join(", "));

    // The server kept the cut chunk's first part; the page asked where it stood and went on from there.
    const cutAt = 1024 * 1024 + KEPT;
    assert.equal(cutAnswer?.status, 200, "the server took the part of the cut chunk that reached it");
    assert.equal(cutAnswer?.body.offset, cutAt);
    assert.deepEqual(log.slice(0, 6), [
      "POST declare",
      "PATCH 0",
      "PATCH 1048576",
      "GET",
      `PATCH ${cutAt}`,
      "PATCH 2404352",
    ]);
    assert.equal(statuses[0]?.offset, cutAt, "the server confirmed the offset the page resumed from");
    assert.equal(statuses[0]?.complete, false);
    console.log(
      `bytes offered for ${big.length}: ${offered} (${(offered / big.length).toFixed(2)}×, the cut cost < 1 chunk)`,
    );
    assert.ok(offered - big.length - small.length < 1024 * 1024, "the cut cost less than one chunk");

    // The declarations and the reply, as the page sent them.
    const [manualReq, notesReq] = declared;
    assert.equal(manualReq.file_name, "manual.pdf");
    assert.equal(manualReq.sha256, sha256(big), "the page declared the right SHA-256");
    assert.equal(notesReq.mime_type, "text/plain");
    assert.deepEqual(replies.at(-1), {
      body: "The manual",
      client_message_id: replies.at(-1).client_message_id,
      attachments: [manualReq.upload_id, notesReq.upload_id],
    });
    assert.equal(await page.locator(".pending-files").isHidden(), true);

    // What the server stored: the reply with both files, whose bytes come back identical for agent and visitor.
    const stored = (await call("GET", `/v1/agent/conversations/${c.id}/messages`, ALICE_TOKEN, undefined)).messages.at(
      -1,
    );
    assert.equal(stored.body, "The manual");
    assert.deepEqual(
      stored.attachments.map((/** @type {any} */ a) => [a.file_name, a.size, a.sha256]),
      [
        ["manual.pdf", big.length, sha256(big)],
        ["notes.txt", small.length, sha256(small)],
      ],
    );
    const [manual, notes] = stored.attachments;
    const asAgent = await download(server.url, ALICE_TOKEN, manual.id, true);
    assert.equal(asAgent.status, 200);
    assert.equal(sha256(asAgent.bytes), sha256(big), "the file arrived byte-identical after the cut (agent route)");
    const asVisitor = await download(server.url, v.visitor_token, manual.id);
    assert.equal(asVisitor.status, 200);
    assert.equal(sha256(asVisitor.bytes), sha256(big), "the visitor downloads the same bytes");
    assert.deepEqual((await download(server.url, v.visitor_token, notes.id)).bytes, small);

    // A refusal: the app's admin lowers the limit after the page loaded it; the server refuses the declaration and
    // the page shows the server's message, keeps the text and the file; Remove takes the file away.
    await call("PUT", "/v1/admin/attachments", ADMIN, { max_bytes: 2000 });
    const refused = page.waitForResponse(
      (r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/v1/agent/uploads",
    );
    await page
      .locator(".composer input[type=file]")
      .setInputFiles([{ name: "big.pdf", mimeType: "application/pdf", buffer: pdf("x".repeat(5000)) }]);
    await page.locator(".composer textarea").fill("Too big?");
    await page.keyboard.press("Enter");
    const refusal = await refused;
    assert.equal(refusal.status(), 413);
    const { code, message } = await refusal.json();
    assert.equal(code, "file_too_large");
    await page.waitForFunction(
      (text) => (document.getElementById("toast-error")?.textContent ?? "").includes(text),
      message,
    );
    console.log("too large, the server's message:", await page.locator("#toast-error").textContent());
    assert.equal(await page.locator(".composer textarea").inputValue(), "Too big?", "the text stays");
    assert.ok(String(await page.locator(".pending-file.failed").textContent()).includes(message));
    await page.screenshot({ path: join(OUT, "attach-3-refused.png") });
    await page.getByRole("button", { name: "Remove big.pdf" }).click();
    assert.equal(await page.locator(".pending-file").count(), 0);

    // Above the app's limit known to the page (loaded at sign-in): refused before any request.
    const before = log.length;
    await page
      .locator(".composer input[type=file]")
      .setInputFiles([{ name: "huge.zip", mimeType: "application/zip", buffer: Buffer.alloc(26 * 1024 * 1024) }]);
    await page.waitForFunction(() => /at most 25 MB/.test(document.getElementById("toast-error")?.textContent ?? ""));
    assert.equal(log.length, before, "nothing was sent");
  } catch (e) {
    console.log("upload requests so far:", log.join(", "), "\nproblems:", problems.join("\n"));
    throw e;
  } finally {
    await browser.close();
    server.stop();
  }
  assert.deepEqual(problems, [], "no script error, CSP violation or dialog");
  console.log("attachments page check passed");
}

await main();
