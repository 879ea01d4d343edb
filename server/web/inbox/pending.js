// @ts-check
// The files waiting in the composer: checked against the app's limits when chosen (dropped or pasted), listed with a
// progress bar and a Remove button, uploaded when the agent sends. A file keeps its upload id while it waits, so
// sending again after a failure resumes the same upload instead of starting over.

import { h, replace } from "./dom.js";
import { declaredType, humanSize, refusalFor } from "./attachments.js";
import { isRetryable, sha256Hex, upload } from "./upload.js";

/**
 * @typedef {import("./types.js").AttachmentLimits} AttachmentLimits
 * @typedef {import("./types.js").Attachment} Attachment
 * @typedef {import("./upload.js").UploadApi} UploadApi
 * @typedef {{
 *   file: File, uploadId: string, sent: number, attachment: Attachment | null, error: string,
 *   bar: HTMLProgressElement, status: HTMLElement,
 * }} Pending
 */

/**
 * @param {Element} el where the list goes
 * @param {{api: UploadApi, limits: () => AttachmentLimits, onError: (text: string) => void}} props
 */
export function mountPending(el, props) {
  /** @type {Pending[]} */
  let files = [];
  let busy = false;

  function draw() {
    el.toggleAttribute("hidden", files.length === 0);
    replace(
      el,
      files.map((p) =>
        h(
          "li",
          { class: p.error ? "pending-file failed" : "pending-file" },
          h("span", { class: "att-name" }, p.file.name),
          h("span", { class: "att-meta" }, humanSize(p.file.size)),
          p.bar,
          h(
            "button",
            {
              type: "button",
              class: "btn",
              disabled: busy,
              "aria-label": `Remove ${p.file.name}`,
              on: { click: () => remove(p) },
            },
            "Remove",
          ),
          p.status,
        ),
      ),
    );
  }

  function remove(/** @type {Pending} */ p) {
    files = files.filter((f) => f !== p);
    draw();
  }

  function show(/** @type {Pending} */ p) {
    p.bar.value = p.file.size ? p.sent / p.file.size : 0;
    p.bar.setAttribute("aria-valuetext", `${humanSize(p.sent)} of ${humanSize(p.file.size)}`);
    p.status.textContent = p.error || (p.attachment ? "Ready" : p.sent ? `${Math.floor(p.bar.value * 100)} %` : "");
  }

  return {
    /** Adds chosen files; those the limits refuse are announced and left out. */
    add(/** @type {Iterable<File>} */ chosen) {
      for (const file of chosen) {
        const refusal = refusalFor(file, props.limits(), files.length);
        if (refusal) {
          props.onError(refusal);
          continue;
        }
        const bar = h("progress", { max: 1, value: 0, "aria-label": `Upload of ${file.name}` });
        const p = { file, uploadId: crypto.randomUUID(), sent: 0, attachment: null, error: "", bar, status: h("span") };
        p.status.className = "pending-status";
        p.status.setAttribute("aria-live", "polite");
        files.push(p);
      }
      draw();
    },
    count: () => files.length,
    /**
     * Uploads every waiting file (resuming those already started) and resolves with their upload ids, in the
     * order they were chosen. A refusal rejects with the server's message; the files stay for another try.
     * @returns {Promise<string[]>}
     */
    async uploadAll() {
      busy = true;
      draw();
      try {
        for (const p of files) {
          if (p.attachment) continue;
          p.error = "";
          show(p);
          try {
            const req = {
              upload_id: p.uploadId,
              file_name: p.file.name,
              mime_type: declaredType(p.file),
              size: p.file.size,
              sha256: await sha256Hex(p.file),
            };
            p.attachment = await upload(props.api, req, p.file, {
              onProgress: (sent) => {
                p.sent = sent;
                show(p);
              },
            });
          } catch (e) {
            p.error = e instanceof Error ? e.message : String(e);
            // A refused upload is discarded by the server (checksum, type): a new try declares it under a fresh id.
            // After a network failure the id stays, and the next try resumes from the server's offset.
            if (!isRetryable(e)) {
              p.uploadId = crypto.randomUUID();
              p.sent = 0;
            }
            throw new Error(`${p.file.name}: ${p.error}`);
          } finally {
            show(p);
          }
        }
        return files.map((p) => p.uploadId); // a message names its files by their upload ids
      } finally {
        busy = false;
        draw();
      }
    },
    /** The server no longer holds the uploads (expired): the next send uploads every file again. */
    forgetUploads() {
      for (const p of files) Object.assign(p, { uploadId: crypto.randomUUID(), sent: 0, attachment: null, error: "" });
      draw();
    },
    /** The message went out with these files: the composer is empty again. */
    clear() {
      files = [];
      draw();
    },
  };
}
