// @ts-check
// Canned responses in the composer: the `/shortcut` being typed, the matching responses, and the placeholder
// expansion (an unknown or empty value becomes "", never the raw placeholder in the sent text).

/**
 * @typedef {import("./types.js").CannedResponse} CannedResponse
 * @typedef {import("./types.js").InboxRow} InboxRow
 */

/**
 * @typedef {{visitor_name?: string, visitor_first_name?: string, visitor_email?: string, agent_name?: string}}
 *   PlaceholderValues
 */

/**
 * The placeholder values for a conversation. The row's contact name falls back to the email, then to
 * "Visitor #…": neither is a name to greet someone with, so those give an empty name.
 * @param {InboxRow} row @param {string} agentName @returns {PlaceholderValues}
 */
export function placeholderValues(row, agentName) {
  const named =
    !row.contact_unlinked && !row.contact_name.startsWith("Visitor #") && row.contact_name !== row.contact_email;
  const name = named ? row.contact_name.trim() : "";
  return {
    visitor_name: name,
    visitor_first_name: name.split(/\s+/)[0] ?? "",
    visitor_email: row.contact_unlinked ? "" : (row.contact_email ?? ""),
    agent_name: agentName,
  };
}

/** Replaces `{name}` placeholders; any `{word}` that is not a known, non-empty value becomes "". */
export function expandPlaceholders(/** @type {string} */ text, /** @type {PlaceholderValues} */ values) {
  return text.replace(/\{([a-z_]+)\}/g, (_, /** @type {string} */ name) => {
    const value = Object.prototype.hasOwnProperty.call(values, name)
      ? values[/** @type {keyof PlaceholderValues} */ (name)]
      : undefined;
    return value ? value : "";
  });
}

/**
 * The `/word` just before the caret, when it starts a line or follows a space: what the canned menu filters by.
 * @param {string} text @param {number} caret
 * @returns {{query: string, start: number} | null}
 */
export function slashQuery(text, caret) {
  const before = text.slice(0, caret);
  const m = /(^|\s)\/([a-z0-9_-]{0,32})$/.exec(before);
  if (!m) return null;
  return { query: m[2], start: caret - m[2].length - 1 };
}

/** Responses whose shortcut starts with the query first, then those whose shortcut or title contains it. */
export function matchCanned(/** @type {CannedResponse[]} */ all, /** @type {string} */ query) {
  const q = query.toLowerCase();
  const starts = all.filter((c) => c.shortcut.startsWith(q));
  const contains = all.filter(
    (c) => !c.shortcut.startsWith(q) && (c.shortcut.includes(q) || c.title.toLowerCase().includes(q)),
  );
  return [...starts, ...contains];
}

/**
 * The composer text with the `/query` at `start..caret` replaced by `insert`; the caret goes after it.
 * @param {string} text @param {number} start @param {number} caret @param {string} insert
 */
export function insertAt(text, start, caret, insert) {
  return { text: text.slice(0, start) + insert + text.slice(caret), caret: start + insert.length };
}
