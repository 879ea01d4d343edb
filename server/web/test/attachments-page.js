// @ts-check
// The page's attachment handling in Chromium, with the server's file routes played by the test (playwright's
// `page.route`) so it can cut a chunk's connection and refuse a file at will; everything else is the real server.
// Checks: thumbnails and chips drawn as text under the CSP; a 2.5 MiB file sent in 1 MiB chunks, one connection cut
// mid-way and resumed from the offset the server confirmed (GET), the bytes byte-identical (SHA-256); the reply
// names the upload ids; a refusal shows the server's message and keeps the text.
//
//   cargo build -p chatflow-server && node server/web/test/attachments-page.js

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";
import { OUT, startServer, client, launchBrowser, signIn, watchProblems } from "./harness.js";
import { pdf, png, sha256 } from "./files.js";

const ALICE = { email: "alice@acme.test", password: "alice-inbox-password" };
const XSS = "<img src=x onerror=alert(1)>";

/** @param {string} id @param {string} name @param {string} mime @param {Buffer} bytes @param {boolean} image */
const attachment = (id, name, mime, bytes, image) => ({
  id,
  file_name: name,
  mime_type: mime,
  size: bytes.length,
  sha256: sha256(bytes),
  ...(image ? { image: { width: 480, height: 320, thumbnail_width: 320, thumbnail_height: 213 } } : {}),
});

async function main() {
  mkdirSync(OUT, { recursive: true });
  const server = await startServer();
  const call = client(server.url);
  const v = await call("POST", "/v1/apps/app_acme/visitors", "", undefined);
  await call("PUT", "/v1/visitor/properties", v.visitor_token, { properties: { name: "Pat Pictures" } });
  const c = await call("POST", "/v1/conversations", v.visitor_token, { chatflow_id: 2 });
  await call("PUT", `/v1/conversations/${c.id}/messages/p1`, v.visitor_token, { body: "Here is my screen" });
  const image = png();
  const visitorFiles = [
    attachment("att_img", "screen.png", "image/png", image, true),
    attachment("att_pdf", `${XSS}.pdf`, "application/pdf", pdf(), false),
  ];

  const browser = await launchBrowser();
  /** @type {string[]} */
  const problems = [];
  /** @type {string[]} */
  const log = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    watchProblems(page, problems, "alice");

    // The visitor's message carries two files (as the server's message pages will).
    await page.route(/\/v1\/agent\/conversations\/[^/]+\/messages\?/, async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      body.messages = body.messages.map((/** @type {any} */ m) =>
        m.author.kind === "visitor" ? { ...m, attachments: visitorFiles } : m,
      );
      await route.fulfill({ response: res, json: body });
    });
    await page.route(/\/v1\/agent\/attachments\/att_img(\/thumbnail)?$/, (route) =>
      route.fulfill({ status: 200, contentType: "image/png", body: image }),
    );

    // The upload routes: offsets kept here; the second PATCH's connection is cut after the server kept 300 KiB.
    /** @type {Map<string, {req: any, bytes: Buffer}>} */
    const uploads = new Map();
    let patches = 0;
    let refuse = false;
    const status = (/** @type {{req: any, bytes: Buffer}} */ u) => {
      const complete = u.bytes.length === u.req.size;
      const att = complete
        ? attachment(`att_${u.req.upload_id}`, u.req.file_name, u.req.mime_type, u.bytes, false)
        : null;
      return {
        upload_id: u.req.upload_id,
        offset: u.bytes.length,
        size: u.req.size,
        complete,
        expires_at: 0,
        ...(att ? { attachment: att } : {}),
      };
    };
    await page.route(/\/v1\/agent\/uploads(\/[^/]+)?$/, async (route) => {
      const request = route.request();
      const id = decodeURIComponent(request.url().split("/uploads/")[1] ?? "");
      log.push(
        `${request.method()}${id ? "" : " declare"}${request.headers()["upload-offset"] ? " " + request.headers()["upload-offset"] : ""}`,
      );
      if (request.headers()["x-csrf-token"] === undefined && request.method() !== "GET") {
        return route.fulfill({ status: 403, json: { code: "csrf_failed", message: "no token" } });
      }
      if (request.method() === "POST") {
        const req = request.postDataJSON();
        if (refuse) {
          return route.fulfill({
            status: 413,
            json: { code: "file_too_large", message: `${req.file_name} is larger than this app's limit of 2 KB.` },
          });
        }
        if (!uploads.has(req.upload_id)) uploads.set(req.upload_id, { req, bytes: Buffer.alloc(0) });
        return route.fulfill({ status: 201, json: status(/** @type {any} */ (uploads.get(req.upload_id))) });
      }
      const u = uploads.get(id);
      if (!u) return route.fulfill({ status: 404, json: { code: "not_found", message: "unknown upload" } });
      if (request.method() === "GET") return route.fulfill({ json: status(u) });
      const offset = Number(request.headers()["upload-offset"]);
      if (offset !== u.bytes.length) {
        return route.fulfill({ status: 409, json: { code: "upload_offset_mismatch", message: "offset" } });
      }
      const body = /** @type {Buffer} */ (request.postDataBuffer());
      if (++patches === 2) {
        u.bytes = Buffer.concat([u.bytes, body.subarray(0, 300 * 1024)]);
        return route.abort("connectionreset");
      }
      u.bytes = Buffer.concat([u.bytes, body]);
      return route.fulfill({ json: status(u) });
    });
    /** @type {any[]} */
    const replies = [];
    /** The files each reply carries, by client message id: added to the answer and to the feed's copy. */
    const filesOf = new Map();
    await page.route(/\/v1\/agent\/conversations\/[^/]+\/messages$/, async (route) => {
      const sent = route.request().postDataJSON();
      replies.push(sent);
      const files = (sent.attachments ?? []).map(
        (/** @type {string} */ id) => status(/** @type {any} */ (uploads.get(id))).attachment,
      );
      filesOf.set(sent.client_message_id, files);
      const res = await route.fetch({ postData: JSON.stringify({ ...sent, attachments: undefined }) });
      const message = await res.json();
      await route.fulfill({ response: res, json: { ...message, attachments: files } });
    });
    await page.routeWebSocket(/\/v1\/agent\/feed/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => server.send(m));
      server.onMessage((m) => {
        const frame = JSON.parse(String(m));
        const files = frame.type === "message" ? filesOf.get(frame.message.client_message_id) : undefined;
        ws.send(JSON.stringify(files ? { ...frame, message: { ...frame.message, attachments: files } } : frame));
      });
    });

    await signIn(page, server.url, ALICE);
    await page.locator("button.row", { hasText: "Here is my screen" }).click();
    await page.waitForFunction(() => {
      const img = document.querySelector("#messages .att-image img");
      return img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0;
    });
    assert.equal(await page.locator("#messages .att-image img").getAttribute("alt"), "screen.png");
    assert.match(
      String(await page.locator("#messages .att-image a").getAttribute("href")),
      /\/v1\/agent\/attachments\/att_img$/,
    );
    assert.deepEqual(await page.locator("#messages .att-file .att-name").allTextContents(), [`${XSS}.pdf`]);
    assert.equal(await page.locator("#messages .att-file a").getAttribute("download"), `${XSS}.pdf`);
    assert.equal(await page.locator("#messages img").count(), 1, "file names never become elements");
    assert.match(String(await page.locator("#messages .att-file").textContent()), /PDF · \d+ B/);

    // A 2.5 MiB file and a small one: chunks, the cut, the resume; then the reply names both uploads.
    const big = Buffer.alloc(2.5 * 1024 * 1024, 7);
    big.set(Buffer.from("%PDF-1.7\n"));
    await page.locator(".composer input[type=file]").setInputFiles([
      { name: "manual.pdf", mimeType: "application/pdf", buffer: big },
      { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("Bonjour") },
    ]);
    assert.deepEqual(await page.locator(".pending-file .att-name").allTextContents(), ["manual.pdf", "notes.txt"]);
    await page.screenshot({ path: join(OUT, "attach-1-pending.png") });
    await page.locator(".composer textarea").fill("The manual");
    await page.keyboard.press("Enter");
    await page
      .locator("#messages article.msg.agent .att-file", { hasText: "notes.txt" })
      .waitFor({ timeout: 10_000 })
      .catch(async (e) => {
        console.log("toast:", await page.locator("#toast-error").textContent());
        await page.screenshot({ path: join(OUT, "attach-failed.png") });
        throw e;
      });
    await page.screenshot({ path: join(OUT, "attach-2-sent.png") });
    console.log("upload requests:", log.join(", "));
    assert.deepEqual(log.slice(0, 6), [
      "POST declare",
      "PATCH 0",
      "PATCH 1048576",
      "GET",
      "PATCH 1355776",
      "PATCH 2404352",
    ]);
    const [manual, notes] = [...uploads.values()];
    assert.equal(sha256(manual.bytes), sha256(big), "the file arrived byte-identical after the cut");
    assert.equal(manual.req.sha256, sha256(big), "the page declared the right SHA-256");
    assert.equal(notes.req.mime_type, "text/plain");
    const sentBytes = 3 * 1024 * 1024 + 300 * 1024; // 3 full chunks' worth were offered; the cut cost < 1 chunk
    console.log(`bytes offered for ${big.length}: ≤ ${sentBytes} (${(sentBytes / big.length).toFixed(2)}×)`);
    assert.deepEqual(replies.at(-1), {
      body: "The manual",
      client_message_id: replies.at(-1).client_message_id,
      attachments: [manual.req.upload_id, notes.req.upload_id],
    });
    assert.equal(await page.locator(".pending-files").isHidden(), true);

    // A refusal: the server's message, the text and the file kept; Remove takes the file away.
    refuse = true;
    await page
      .locator(".composer input[type=file]")
      .setInputFiles([{ name: "big.pdf", mimeType: "application/pdf", buffer: pdf("x".repeat(5000)) }]);
    await page.locator(".composer textarea").fill("Too big?");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => /limit of 2 KB/.test(document.getElementById("toast-error")?.textContent ?? ""));
    assert.equal(await page.locator(".composer textarea").inputValue(), "Too big?");
    assert.match(String(await page.locator(".pending-file.failed").textContent()), /limit of 2 KB/);
    await page.screenshot({ path: join(OUT, "attach-3-refused.png") });
    await page.getByRole("button", { name: "Remove big.pdf" }).click();
    assert.equal(await page.locator(".pending-file").count(), 0);

    // Above the app's limit known to the page: refused before any request.
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
