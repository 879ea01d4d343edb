// @ts-check
// Times and names as the agent reads them. Pure: `now` and the locale's formatters are the only inputs.

/** @typedef {import("./types.js").Author} Author */

const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const day = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const dayYear = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** Short time for lists: the hour today, the day this year, else the date with the year. */
export function shortTime(/** @type {number} */ at, /** @type {number} */ now) {
  const a = new Date(at);
  const n = new Date(now);
  if (a.toDateString() === n.toDateString()) return time.format(a);
  if (a.getFullYear() === n.getFullYear()) return day.format(a);
  return dayYear.format(a);
}

/** Date and time, for tooltips and the sidebar. */
export function fullTime(/** @type {number} */ at) {
  return full.format(new Date(at));
}

/** The machine-readable form for <time datetime>. */
export function isoTime(/** @type {number} */ at) {
  return new Date(at).toISOString();
}

/** Who wrote a message, as a label (the visitor's name comes from the row). */
export function authorName(/** @type {Author} */ author, /** @type {string} */ contactName) {
  switch (author.kind) {
    case "visitor":
      return contactName;
    case "agent":
      return author.display_name || "Agent";
    case "bot":
      return author.display_name || "Bot";
    case "system":
      return "System";
  }
}

/** One or two letters for an avatar. */
export function initials(/** @type {string} */ name) {
  const words = name
    .replace(/[^\p{L}\p{N} ]/gu, " ")
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  if (words.length === 0) return "?";
  const letters = words.length === 1 ? [...words[0]].slice(0, 2) : [[...words[0]][0], [...words[words.length - 1]][0]];
  return letters.join("").toUpperCase();
}

/** `waiting_on_contact` → `Waiting on contact`. */
export function humanize(/** @type {string} */ code) {
  const text = code.replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}
