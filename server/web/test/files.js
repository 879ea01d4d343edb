// @ts-check
// Files for the browser tests — a real PNG (so the server can make a thumbnail), a small PDF — and a visitor's upload
// through the REST routes, as the SDK does it (declare, PATCH the bytes, send the message naming the upload).

import { createHash, randomUUID } from "node:crypto";
import { deflateSync } from "node:zlib";

/** CRC-32 (PNG chunks), bitwise: the test files are small. */
function crc32(/** @type {Buffer} */ bytes) {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

/** A `width`×`height` RGB PNG, a diagonal gradient (so a thumbnail is visibly an image). */
export function png(width = 480, height = 320) {
  const chunk = (/** @type {string} */ type, /** @type {Buffer} */ data) => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, no interlace
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const at = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) rows.set([(x * 255) / width, (y * 255) / height, 160], at + 1 + x * 3);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A small PDF (its magic number is what the server checks). */
export function pdf(text = "Invoice 2026-12") {
  return Buffer.from(
    `%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% ${text}\ntrailer << /Root 1 0 R >>\n%%EOF\n`,
  );
}

export const sha256 = (/** @type {Buffer} */ bytes) => createHash("sha256").update(bytes).digest("hex");

/**
 * A visitor's file through the REST routes: declared, sent in one PATCH; resolves with the upload id.
 * @param {string} base @param {string} token @param {string} name @param {string} type @param {Buffer} bytes
 */
export async function visitorUpload(base, token, name, type, bytes) {
  const uploadId = randomUUID();
  const auth = { Authorization: `Bearer ${token}` };
  const declared = await fetch(`${base}/v1/uploads`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({
      upload_id: uploadId,
      file_name: name,
      mime_type: type,
      size: bytes.length,
      sha256: sha256(bytes),
    }),
  });
  if (declared.status !== 201) throw new Error(`POST /v1/uploads: ${declared.status} ${await declared.text()}`);
  const sent = await fetch(`${base}/v1/uploads/${uploadId}`, {
    method: "PATCH",
    headers: { ...auth, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream" },
    body: new Uint8Array(bytes),
  });
  const status = await sent.json();
  if (!sent.ok || !status.complete) throw new Error(`PATCH /v1/uploads: ${sent.status} ${JSON.stringify(status)}`);
  return uploadId;
}

/**
 * Downloads an attachment with a bearer token (visitor route unless `agent`); resolves with status, headers, bytes.
 * @param {string} base @param {string} token @param {string} id
 */
export async function download(base, token, id, agent = false) {
  const res = await fetch(`${base}/v1/${agent ? "agent/" : ""}attachments/${id}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}
