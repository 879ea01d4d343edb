// @ts-check
// One file's way to the server: its SHA-256 (crypto.subtle), the declaration (POST /v1/agent/uploads), then the
// bytes in 1 MiB PATCHes from the offset the server confirmed. After a failure (network cut, server error, offset
// disagreement) the uploader asks the server where it stands (GET) and goes on from there, so a cut costs at most
// the chunk in flight. Refusals (too large, type, checksum) end the upload with the server's message.
//
// Hashing: crypto.subtle has no incremental digest, so the file is read once whole to hash it (bounded by the app's
// limit, 25 MiB by default) and released; the bytes then go out as slices of the File, never copied again.

import { ApiError } from "./api.js";
import { CHUNK_BYTES, planChunks } from "./attachments.js";

/**
 * @typedef {import("./types.js").UploadRequest} UploadRequest
 * @typedef {import("./types.js").UploadStatus} UploadStatus
 * @typedef {import("./types.js").Attachment} Attachment
 * @typedef {{
 *   declareUpload: (req: UploadRequest) => Promise<UploadStatus>,
 *   uploadStatus: (id: string) => Promise<UploadStatus>,
 *   patchUpload: (id: string, offset: number, bytes: Blob) => Promise<UploadStatus>,
 * }} UploadApi
 */

/** Lowercase hex SHA-256 of a blob. */
export async function sha256Hex(/** @type {Blob} */ blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Failures worth another try from the server's offset: the network, the server's own errors, a lost offset. */
export function isRetryable(/** @type {unknown} */ e) {
  if (!(e instanceof ApiError)) return false;
  return e.status === 0 || e.status >= 500 || e.code === "upload_offset_mismatch" || e.status === 408;
}

/**
 * Sends `file`'s bytes for a declared upload and resolves with the attachment once the server checked them.
 * @param {UploadApi} api
 * @param {UploadRequest} req the declaration (upload id generated once per file: a retry declares the same)
 * @param {Blob} file
 * @param {{
 *   onProgress?: (sent: number, size: number) => void, chunk?: number, retries?: number,
 *   sleep?: (ms: number) => Promise<void>,
 * }} [options]
 * @returns {Promise<Attachment>}
 */
export async function upload(api, req, file, options = {}) {
  const chunk = options.chunk ?? CHUNK_BYTES;
  const sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  let failures = 0;
  const retries = options.retries ?? 5;
  /** @type {UploadStatus | null} */
  let status = null;
  for (;;) {
    try {
      status = status ? await api.uploadStatus(req.upload_id) : await api.declareUpload(req);
      options.onProgress?.(status.offset, status.size);
      for (const range of planChunks(status.size, status.offset, chunk)) {
        if (status.complete) break;
        status = await api.patchUpload(req.upload_id, range.start, file.slice(range.start, range.end));
        failures = 0;
        options.onProgress?.(status.offset, status.size);
      }
      if (status.complete && status.attachment) return status.attachment;
      throw new ApiError(409, "upload_not_ready", "The server did not confirm the whole file. Try again.");
    } catch (e) {
      if (!isRetryable(e) || ++failures > retries) throw e;
      // Ask where the server stands, after a pause that grows with each failure in a row.
      await sleep(Math.min(8000, 250 * 2 ** (failures - 1)));
      if (!status) continue; // not declared yet: declare again (same id, idempotent)
    }
  }
}
