// @ts-check
// Attachments as the agent sees them: images as thumbnails that open the full image, other files as chips (icon,
// name, type, size) that download; and the pure rules the composer applies before a byte moves (the app's limits,
// sizes for people, the chunks a file is sent in). File names are data: they only ever become text.

import { h } from "./dom.js";

/**
 * @typedef {import("./types.js").Attachment} Attachment
 * @typedef {import("./types.js").AttachmentLimits} AttachmentLimits
 */

/** What the server accepts when the app's list did not say (the protocol's defaults). */
export const DEFAULT_LIMITS = /** @type {AttachmentLimits} */ ({
  max_bytes: 25 * 1024 * 1024,
  max_per_message: 10,
  mime_types: [
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "application/pdf",
    "application/zip",
    "text/plain",
    "video/mp4",
  ],
});

/** Bytes per PATCH: small enough for a visible progress bar and a cheap retry, big enough to keep requests few. */
export const CHUNK_BYTES = 1024 * 1024;

/** Images shown inline (the server's `is_inline_image`); everything else is a chip that downloads. */
export function isInlineImage(/** @type {string} */ mime) {
  return ["image/jpeg", "image/png", "image/gif", "image/webp"].includes(mime);
}

/** A size for people: `512 B`, `1.5 KB`, `24 MB` (1 KB = 1024 B, one decimal below 10). */
export function humanSize(/** @type {number} */ bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return "?";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  return `${shown} ${units[unit]}`;
}

/**
 * The byte ranges still to send, from the server's confirmed `offset`: `[start, end)` of at most `chunk` bytes.
 * @param {number} size @param {number} offset @param {number} [chunk]
 * @returns {{start: number, end: number}[]}
 */
export function planChunks(size, offset, chunk = CHUNK_BYTES) {
  if (!(chunk > 0)) throw new RangeError("chunk must be positive");
  const ranges = [];
  for (let start = Math.max(0, offset); start < size; start += chunk) {
    ranges.push({ start, end: Math.min(size, start + chunk) });
  }
  return ranges;
}

/** The type to declare for a file: the browser's guess, else from the name's extension, else let the bytes decide. */
export function declaredType(/** @type {{name: string, type: string}} */ file) {
  if (file.type) return file.type;
  const ext = /\.([a-z0-9]+)$/i.exec(file.name)?.[1]?.toLowerCase() ?? "";
  /** @type {Record<string, string>} */
  const byExt = {
    jpg: "image/jpeg",
    jpeg: "image/jpeg",
    png: "image/png",
    gif: "image/gif",
    webp: "image/webp",
    pdf: "application/pdf",
    zip: "application/zip",
    txt: "text/plain",
    mp4: "video/mp4",
  };
  return byExt[ext] ?? "application/octet-stream";
}

/**
 * Why a file cannot be attached before any byte moves, or null when it may be tried (the server still judges the
 * bytes' real type). `alreadyPending` counts the files already waiting in the composer.
 * @param {{name: string, size: number, type: string}} file
 * @param {AttachmentLimits} limits
 * @param {number} alreadyPending
 * @returns {string | null}
 */
export function refusalFor(file, limits, alreadyPending) {
  if (alreadyPending >= limits.max_per_message) {
    return `A message carries at most ${limits.max_per_message} files.`;
  }
  if (file.size === 0) return `“${file.name}” is empty.`;
  if (file.size > limits.max_bytes) {
    return `“${file.name}” is ${humanSize(file.size)}; files can be at most ${humanSize(limits.max_bytes)}.`;
  }
  const type = declaredType(file).split(";")[0].trim().toLowerCase();
  if (type !== "application/octet-stream" && !limits.mime_types.includes(type)) {
    return `“${file.name}” (${type}) cannot be sent: images, PDF, ZIP, text and MP4 files only.`;
  }
  if ([...file.name].length > 255 || /[/\\\p{Cc}]/u.test(file.name) || file.name.trim() !== file.name) {
    return `“${file.name}” has a name the server refuses (rename it: no slashes, at most 255 characters).`;
  }
  return null;
}

/** The download route of an attachment, as an absolute URL of this page's origin (links take http(s) only). */
export function attachmentUrl(/** @type {string} */ id, /** @type {string} */ origin, thumbnail = false) {
  return `${origin}/v1/agent/attachments/${encodeURIComponent(id)}${thumbnail ? "/thumbnail" : ""}`;
}

/** The list row's line for a message: its text, or "📎 name" when it only carries files. */
export function previewOf(/** @type {{body: string, attachments?: Attachment[]}} */ m) {
  if (m.body.trim() || !m.attachments?.length) return m.body;
  return `📎 ${m.attachments.map((a) => a.file_name).join(", ")}`;
}

/** A short label of a type for the chip: `PDF`, `ZIP`, `Text`, … */
export function typeLabel(/** @type {string} */ mime) {
  /** @type {Record<string, string>} */
  const labels = {
    "application/pdf": "PDF",
    "application/zip": "ZIP",
    "text/plain": "Text",
    "video/mp4": "Video",
  };
  return labels[mime] ?? (mime.split("/")[1] ?? mime).toUpperCase();
}

/** Three letters for a chip's icon (drawn with text: no emoji font is needed). */
export function fileBadge(/** @type {string} */ mime) {
  /** @type {Record<string, string>} */
  const badges = { "application/pdf": "PDF", "application/zip": "ZIP", "text/plain": "TXT", "video/mp4": "MP4" };
  return badges[mime] ?? (mime.startsWith("image/") ? "IMG" : "FILE");
}

/**
 * What an attachment shows, as plain data (what the DOM is built from; the tests check it without a browser).
 * @param {Attachment} a @param {string} origin
 */
export function describe(a, origin) {
  const href = attachmentUrl(a.id, origin);
  if (isInlineImage(a.mime_type) && a.image) {
    return {
      kind: /** @type {const} */ ("image"),
      name: a.file_name,
      href,
      thumbnail: attachmentUrl(a.id, origin, true),
      width: a.image.thumbnail_width,
      height: a.image.thumbnail_height,
      label: `${a.file_name}, image ${a.image.width}×${a.image.height}, ${humanSize(a.size)} (opens in a new tab)`,
    };
  }
  return {
    kind: /** @type {const} */ ("file"),
    name: a.file_name,
    href,
    icon: fileBadge(a.mime_type),
    type: typeLabel(a.mime_type),
    size: humanSize(a.size),
    label: `Download ${a.file_name}, ${typeLabel(a.mime_type)}, ${humanSize(a.size)}`,
  };
}

/** The attachments of a message, as elements (a list, in the order the sender gave). */
export function attachmentsView(/** @type {Attachment[]} */ list, origin = location.origin) {
  return h(
    "ul",
    { class: "attachments", "aria-label": "Attachments" },
    list.map((a) => {
      const d = describe(a, origin);
      if (d.kind === "image") {
        return h(
          "li",
          { class: "att-image" },
          h(
            "a",
            { href: d.href, target: "_blank", rel: "noopener", "aria-label": d.label, title: d.name },
            h("img", { src: d.thumbnail, alt: d.name, width: d.width, height: d.height, loading: "lazy" }),
          ),
        );
      }
      return h(
        "li",
        { class: "att-file" },
        h(
          "a",
          { href: d.href, download: d.name, title: d.label }, // the visible text names the link (name, type, size)
          h("span", { class: "att-icon", "aria-hidden": "true" }, d.icon),
          h("span", { class: "att-name" }, d.name),
          h("span", { class: "att-meta" }, `${d.type} · ${d.size}`),
        ),
      );
    }),
  );
}
