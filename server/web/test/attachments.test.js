// @ts-check
// Attachments' pure parts: sizes for people, the chunks a file is sent in, the limits checked before a byte moves,
// what an attachment shows (as data: names stay text), the list preview, and the uploader resuming from the server's
// offset after a cut (with a stand-in server).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  DEFAULT_LIMITS,
  declaredType,
  describe,
  humanSize,
  planChunks,
  previewOf,
  refusalFor,
} from "../inbox/attachments.js";
import { ApiError, createApi } from "../inbox/api.js";
import { sha256Hex, upload } from "../inbox/upload.js";

test("sizes read as people say them", () => {
  assert.equal(humanSize(0), "0 B");
  assert.equal(humanSize(1023), "1023 B");
  assert.equal(humanSize(1024), "1 KB");
  assert.equal(humanSize(1536), "1.5 KB");
  assert.equal(humanSize(25 * 1024 * 1024), "25 MB");
  assert.equal(humanSize(26 * 1024 * 1024 + 1), "26 MB");
  assert.equal(humanSize(3 * 1024 ** 3), "3 GB");
  assert.equal(humanSize(-1), "?");
});

test("chunks cover the rest of the file from the confirmed offset, none past the end", () => {
  assert.deepEqual(planChunks(10, 0, 4), [
    { start: 0, end: 4 },
    { start: 4, end: 8 },
    { start: 8, end: 10 },
  ]);
  assert.deepEqual(planChunks(10, 6, 4), [{ start: 6, end: 10 }]);
  assert.deepEqual(planChunks(10, 10, 4), [], "complete: nothing to send");
  assert.deepEqual(planChunks(3 * 1024 * 1024, 1024 * 1024).length, 2, "1 MiB chunks by default");
  assert.throws(() => planChunks(10, 0, 0), RangeError);
});

test("files are checked against the app's limits before any byte moves", () => {
  const limits = { ...DEFAULT_LIMITS, max_bytes: 1000, max_per_message: 2 };
  const file = (/** @type {string} */ name, /** @type {number} */ size, type = "") => ({ name, size, type });
  assert.equal(refusalFor(file("a.pdf", 1000, "application/pdf"), limits, 0), null);
  assert.match(String(refusalFor(file("big.pdf", 1001, "application/pdf"), limits, 0)), /1001 B.*at most 1000 B/);
  assert.match(String(refusalFor(file("a.pdf", 10, "application/pdf"), limits, 2)), /at most 2 files/);
  assert.match(String(refusalFor(file("empty.txt", 0, "text/plain"), limits, 0)), /empty/);
  assert.match(String(refusalFor(file("run.exe", 10, "application/x-msdownload"), limits, 0)), /cannot be sent/);
  assert.equal(refusalFor(file("notes.weird", 10), limits, 0), null, "unknown type: the server judges the bytes");
  assert.equal(declaredType(file("Photo.JPG", 1)), "image/jpeg", "from the extension when the browser has no type");
  assert.equal(declaredType(file("x", 1, "image/png")), "image/png");
  assert.equal(declaredType(file("x.bin", 1)), "application/octet-stream");
});

test("an attachment is shown as data: image with its thumbnail, file as a chip; names are never markup", () => {
  const xss = "<img src=x onerror=alert(1)>.pdf";
  const file = describe(
    { id: "att_1", file_name: xss, mime_type: "application/pdf", size: 2048, sha256: "0".repeat(64) },
    "http://h",
  );
  assert.equal(file.kind, "file");
  assert.equal(file.name, xss, "the name as given, to become a text node");
  assert.equal(file.href, "http://h/v1/agent/attachments/att_1");
  assert.equal(file.kind === "file" && file.type, "PDF");
  assert.equal(file.kind === "file" && file.size, "2 KB");
  const image = describe(
    {
      id: "att/2",
      file_name: "screen.png",
      mime_type: "image/png",
      size: 5000,
      sha256: "0".repeat(64),
      image: { width: 1280, height: 800, thumbnail_width: 320, thumbnail_height: 200 },
    },
    "http://h",
  );
  assert.equal(image.kind, "image");
  assert.equal(image.kind === "image" && image.thumbnail, "http://h/v1/agent/attachments/att%2F2/thumbnail");
  assert.match(image.label, /screen\.png, image 1280×800/);
  const noThumb = describe(
    { id: "a", file_name: "x.png", mime_type: "image/png", size: 1, sha256: "0".repeat(64) },
    "http://h",
  );
  assert.equal(noThumb.kind, "file", "an image the server could not decode downloads as a file");
});

test("the list preview names the files when a message has no text", () => {
  const a = { id: "a", file_name: "reçu.pdf", mime_type: "application/pdf", size: 1, sha256: "" };
  assert.equal(previewOf({ body: "", attachments: [a] }), "📎 reçu.pdf");
  assert.equal(previewOf({ body: "Here it is", attachments: [a] }), "Here it is");
  assert.equal(previewOf({ body: "Hi" }), "Hi");
});

/** A stand-in for the server's upload routes that cuts the connection after `cutAfter` bytes of one PATCH. */
function fakeServer(/** @type {Uint8Array} */ bytes, cutAfter = -1) {
  /** @type {number[]} */
  const held = [];
  let cut = cutAfter;
  /** @type {string[]} */
  const log = [];
  const status = (/** @type {string} */ id) => {
    const offset = held.length;
    const complete = offset === bytes.length;
    return {
      upload_id: id,
      offset,
      size: bytes.length,
      complete,
      expires_at: 0,
      ...(complete
        ? { attachment: { id: "att_x", file_name: "f", mime_type: "text/plain", size: offset, sha256: "" } }
        : {}),
    };
  };
  const api = {
    declareUpload: async (/** @type {import("../inbox/types.js").UploadRequest} */ r) => {
      log.push("POST");
      return status(r.upload_id);
    },
    uploadStatus: async (/** @type {string} */ id) => {
      log.push("GET");
      return status(id);
    },
    patchUpload: async (/** @type {string} */ id, /** @type {number} */ offset, /** @type {Blob} */ blob) => {
      log.push(`PATCH ${offset}`);
      if (offset !== held.length) throw new ApiError(409, "upload_offset_mismatch", "offset");
      const chunk = new Uint8Array(await blob.arrayBuffer());
      for (let i = 0; i < chunk.length; i++) {
        if (cut === 0) {
          cut = -1;
          throw new ApiError(0, "network", "cut"); // the bytes before the cut are kept, as the server does
        }
        held.push(chunk[i]);
        if (cut > 0) cut--;
      }
      return status(id);
    },
  };
  return { api, log, held };
}

test("a cut upload resumes from the offset the server confirmed and arrives byte-identical", async () => {
  const bytes = new Uint8Array(10_000).map((_, i) => (i * 7) % 251);
  const server = fakeServer(bytes, 4500);
  /** @type {number[]} */
  const progress = [];
  const req = { upload_id: "u1", file_name: "f.txt", mime_type: "text/plain", size: bytes.length, sha256: "" };
  const att = await upload(server.api, req, new Blob([bytes]), {
    chunk: 4096,
    sleep: async () => {},
    onProgress: (sent) => progress.push(sent),
  });
  assert.equal(att.id, "att_x");
  assert.deepEqual(Buffer.from(server.held), Buffer.from(bytes));
  assert.deepEqual(server.log, ["POST", "PATCH 0", "PATCH 4096", "GET", "PATCH 4500", "PATCH 8596"]);
  assert.equal(progress.at(-1), bytes.length);
  const sent = server.log.filter((l) => l.startsWith("PATCH")).length;
  assert.ok(sent <= 4, "a cut costs at most the chunk in flight");
});

test("a refusal ends the upload with the server's message, without retrying", async () => {
  const server = fakeServer(new Uint8Array(10));
  server.api.patchUpload = async () => {
    throw new ApiError(422, "checksum_mismatch", "The file's SHA-256 does not match the declared one.");
  };
  const req = { upload_id: "u2", file_name: "f.txt", mime_type: "text/plain", size: 10, sha256: "" };
  await assert.rejects(upload(server.api, req, new Blob([new Uint8Array(10)]), { sleep: async () => {} }), {
    code: "checksum_mismatch",
  });
  assert.deepEqual(server.log, ["POST"]);
});

test("the browser's SHA-256 is the one the server checks (lowercase hex)", async () => {
  const bytes = new TextEncoder().encode("Bonjour, voilà le reçu");
  assert.equal(await sha256Hex(new Blob([bytes])), createHash("sha256").update(bytes).digest("hex"));
});

test("a chunk goes out as raw bytes with its offset, the reply names the upload ids", async () => {
  /** @type {{url: string, init: RequestInit}[]} */
  const calls = [];
  const api = createApi({
    fetch: async (url, init) => {
      calls.push({ url: String(url), init: init ?? {} });
      return new Response("{}", { status: 200, headers: { "Content-Type": "application/json" } });
    },
  });
  api.setCsrf("tok");
  const blob = new Blob(["abc"]);
  await api.patchUpload("u 1", 4, blob);
  const headers = /** @type {Record<string, string>} */ (calls[0].init.headers);
  assert.equal(calls[0].url, "/v1/agent/uploads/u%201");
  assert.equal(calls[0].init.method, "PATCH");
  assert.equal(headers["Upload-Offset"], "4");
  assert.equal(headers["Content-Type"], "application/offset+octet-stream");
  assert.equal(headers["X-CSRF-Token"], "tok");
  assert.equal(calls[0].init.body, blob);
  await api.reply("c1", "", "cm1", ["u1", "u2"]);
  assert.deepEqual(JSON.parse(String(calls[1].init.body)), {
    body: "",
    client_message_id: "cm1",
    attachments: ["u1", "u2"],
  });
  await api.reply("c1", "Hi", "cm2");
  assert.deepEqual(JSON.parse(String(calls[2].init.body)), { body: "Hi", client_message_id: "cm2" });
});
