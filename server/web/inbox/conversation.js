// @ts-check
// The conversation pane: who and where, then messages and internal notes in reading order — each with its sender,
// time and state (sent, read by the visitor) — bot messages with the quick replies the visitor was offered, the
// visitor's typing indicator, and "Load earlier messages" for history.

import { h, replace } from "./dom.js";
import { authorName, fullTime, initials, isoTime, shortTime } from "./format.js";
import { isTyping, timeline } from "./state.js";
import { attachmentsView } from "./attachments.js";

/**
 * @typedef {import("./state.js").State} State
 * @typedef {import("./types.js").Message} Message
 * @typedef {import("./types.js").Note} Note
 * @typedef {import("./types.js").InboxRow} InboxRow
 */

/**
 * Where the log is scrolled, read before the page changes anything in a render: reading it after other regions
 * changed would make the browser lay out the whole page an extra time for every new message.
 * @typedef {{stick: boolean, previousHeight: number}} LogScroll
 * @param {Element} log
 * @returns {LogScroll}
 */
export function readScroll(log) {
  return { stick: log.scrollHeight - log.scrollTop - log.clientHeight < 40, previousHeight: log.scrollHeight };
}

/** @param {Element} el @param {InboxRow} row */
export function renderHeader(el, row) {
  const c = row.conversation;
  replace(
    el,
    h(
      "div",
      { class: "conv-title" },
      h("h2", { id: "conv-heading" }, row.contact_name),
      h(
        "p",
        { class: "conv-sub" },
        h("span", { class: c.status === "open" ? "badge ok" : "badge muted" }, c.status === "open" ? "Open" : "Closed"),
        row.handled_by === "bot" ? h("span", { class: "badge bot" }, "Run by a bot") : null,
        row.blocked ? h("span", { class: "badge danger" }, "Sender blocked") : null,
        row.spam ? h("span", { class: "badge danger" }, "Spam") : null,
        h("span", null, [row.channel_label, row.chatflow_name].filter(Boolean).join(" · ")),
        h("span", null, c.assignee ? `Assigned to ${c.assignee.display_name}` : "Unassigned"),
      ),
    ),
  );
}

/**
 * @param {Element} log the role="log" region
 * @param {State} state
 * @param {InboxRow} row
 * @param {number} now
 * @param {{onEarlier: () => void, loadingEarlier: boolean, scroll: LogScroll}} props
 */
export function renderMessages(log, state, row, now, props) {
  const id = row.conversation.id;
  const messages = state.messages[id];
  const { stick, previousHeight } = props.scroll;
  const firstBefore = log.querySelector("[data-seq]")?.getAttribute("data-seq");
  if (!messages) {
    replace(log, h("p", { class: "empty" }, "Loading messages…"));
    return;
  }
  const items = timeline(messages, state.notes[id] ?? []);
  const answered = new Set(messages.map((m) => m.quick_reply_id).filter(Boolean));
  // Each message and note keeps its element while what it shows is unchanged: a new message adds one element to
  // the log instead of rebuilding hundreds (the page's share of a message's way to the agent stays small).
  const cache = builtFor(log, id);
  /** @type {Map<string, {sig: string, el: Element}>} */
  const next = new Map();
  const reuse = (/** @type {string} */ key, /** @type {string} */ sig, /** @type {() => Element} */ build) => {
    const old = cache.items.get(key);
    const el = old && old.sig === sig ? old.el : build();
    next.set(key, { sig, el });
    return el;
  };
  const nodes = items.map((item, i) => {
    if (item.kind === "note") {
      const n = item.note;
      return reuse(`n${n.id}`, JSON.stringify([n, shortTime(n.created_at, now)]), () => noteView(n, now));
    }
    const m = item.message;
    const prev = items[i - 1];
    const grouped = prev?.kind === "message" && sameSender(prev.message, m);
    const sig = JSON.stringify([
      m,
      grouped,
      m.seq <= row.conversation.visitor_read_seq,
      m.quick_replies?.map((q) => answered.has(q.id)),
      row.contact_name,
      shortTime(m.created_at, now),
    ]);
    return reuse(`m${m.seq}`, sig, () => messageView(m, row, now, answered, grouped));
  });
  cache.items = next;
  const head = state.hasEarlier[id]
    ? h(
        "button",
        {
          type: "button",
          class: "btn more",
          "data-key": "earlier",
          disabled: props.loadingEarlier,
          on: { click: props.onEarlier },
        },
        props.loadingEarlier ? "Loading…" : "Load earlier messages",
      )
    : h("p", { class: "start" }, `Conversation opened ${fullTime(row.opened_at)}`);
  const headSig = `${state.hasEarlier[id]}|${props.loadingEarlier}|${row.opened_at}`;
  if (cache.headSig !== headSig || !cache.head) [cache.head, cache.headSig] = [head, headSig];
  reconcile(log, [
    cache.head,
    ...nodes,
    ...(items.length === 0 ? [h("p", { class: "empty" }, "No messages yet.")] : []),
  ]);
  const firstAfter = log.querySelector("[data-seq]")?.getAttribute("data-seq");
  if (firstBefore && firstAfter !== firstBefore) {
    log.scrollTop = log.scrollHeight - previousHeight; // earlier messages came in above: keep the reading place
  } else if (stick || !firstBefore) {
    log.scrollTop = log.scrollHeight;
  }
}

/** @type {WeakMap<Element, {conversation: string, items: Map<string, {sig: string, el: Element}>, head?: Element, headSig?: string}>} */
const built = new WeakMap();

/** What `log` shows of conversation `id`, to reuse; forgotten when another conversation is opened. */
function builtFor(/** @type {Element} */ log, /** @type {string} */ id) {
  let cache = built.get(log);
  if (!cache || cache.conversation !== id) {
    cache = { conversation: id, items: new Map() };
    built.set(log, cache);
  }
  return cache;
}

/**
 * Makes `container`'s children exactly `nodes`, in order, moving only what differs (appending one message touches
 * one element). The focused element stays focused when it is kept.
 * @param {Element} container @param {Node[]} nodes
 */
function reconcile(container, nodes) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.getAttribute("data-key") : null;
  let current = container.firstChild;
  for (const node of nodes) {
    if (current === node) {
      current = current.nextSibling;
      continue;
    }
    container.insertBefore(node, current);
  }
  while (current) {
    const following = current.nextSibling;
    container.removeChild(current);
    current = following;
  }
  if (key && !container.contains(document.activeElement)) {
    const again = container.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again instanceof HTMLElement) again.focus();
  }
}

/** @param {Element} el @param {State} state @param {InboxRow} row @param {number} now */
export function renderTyping(el, state, row, now) {
  replace(el, isTyping(state, row.conversation.id, now) ? `${row.contact_name} is typing…` : "");
}

/** Consecutive messages of one sender within 5 minutes are shown as one group (one name, one avatar). */
function sameSender(/** @type {Message} */ a, /** @type {Message} */ b) {
  return (
    a.author.kind === b.author.kind &&
    a.author.id === b.author.id &&
    a.author.kind !== "system" &&
    b.created_at - a.created_at < 5 * 60_000 &&
    !a.quick_replies?.length
  );
}

/**
 * @param {Message} m @param {InboxRow} row @param {number} now @param {Set<string | undefined>} answered
 * @param {boolean} grouped follows a message of the same sender: no repeated name and avatar
 */
function messageView(m, row, now, answered, grouped) {
  const kind = m.author.kind;
  const name = authorName(m.author, row.contact_name);
  if (kind === "system") {
    return h(
      "div",
      { class: "msg system", "data-seq": m.seq },
      h("span", null, m.body),
      h(
        "time",
        { datetime: isoTime(m.created_at), title: fullTime(m.created_at) },
        " · ",
        shortTime(m.created_at, now),
      ),
    );
  }
  const outgoing = kind !== "visitor";
  const state = outgoing ? (m.seq <= row.conversation.visitor_read_seq ? "Read" : "Sent") : null;
  return h(
    "article",
    {
      class: `msg ${kind} ${outgoing ? "out" : "in"}${grouped ? " grouped" : ""}`,
      "data-seq": m.seq,
      "aria-label": `${name}, ${fullTime(m.created_at)}`,
    },
    h("span", { class: `avatar ${kind}`, "aria-hidden": "true" }, kind === "bot" ? "B" : initials(name)),
    h(
      "div",
      { class: "msg-main" },
      grouped
        ? null
        : h(
            "div",
            { class: "msg-head" },
            h("span", { class: "msg-author" }, name),
            kind === "bot" ? h("span", { class: "badge bot" }, "Bot") : null,
            h("time", { datetime: isoTime(m.created_at), title: fullTime(m.created_at) }, shortTime(m.created_at, now)),
          ),
      m.body || !m.attachments?.length ? h("div", { class: "bubble" }, m.body) : null,
      m.attachments?.length ? attachmentsView(m.attachments) : null,
      m.quick_replies?.length
        ? h(
            "ul",
            { class: "quick-replies", "aria-label": "Quick replies offered to the visitor" },
            m.quick_replies.map((q) =>
              h(
                "li",
                { class: answered.has(q.id) ? "qr chosen" : "qr" },
                q.label,
                answered.has(q.id) ? h("span", { class: "visually-hidden" }, " (chosen)") : null,
              ),
            ),
          )
        : null,
      m.quick_reply_id ? h("div", { class: "msg-state" }, "Tapped a quick reply") : null,
      state
        ? h(
            "div",
            { class: `msg-state ${state === "Read" ? "read" : ""}` },
            state === "Read" ? "✓✓ Read by the visitor" : "✓ Sent",
          )
        : null,
    ),
  );
}

/** @param {Note} n @param {number} now */
function noteView(n, now) {
  const name = n.author.display_name || "Agent";
  return h(
    "article",
    { class: "msg note", "aria-label": `Internal note by ${name}` },
    h("span", { class: "avatar note", "aria-hidden": "true" }, initials(name)),
    h(
      "div",
      { class: "msg-main" },
      h(
        "div",
        { class: "msg-head" },
        h("span", { class: "msg-author" }, name),
        h("span", { class: "badge note" }, "Internal note"),
        h("time", { datetime: isoTime(n.created_at), title: fullTime(n.created_at) }, shortTime(n.created_at, now)),
      ),
      h("div", { class: "bubble" }, n.body),
    ),
  );
}
