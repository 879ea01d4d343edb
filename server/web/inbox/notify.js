// @ts-check
// The tab title's unread badge, and desktop notifications for new conversations and visitor messages — only when the
// agent turned them on (the choice is kept in this browser) and the permission is granted.

/**
 * @typedef {import("./types.js").FeedEvent} FeedEvent
 * @typedef {import("./state.js").State} State
 */

const STORAGE_KEY = "chatflow.inbox.notifications";

/** `(3) Inbox · App` — the count of conversations with unread messages first, so it shows in a narrow tab. */
export function titleFor(/** @type {number} */ unread, /** @type {string} */ appName) {
  const base = appName ? `Inbox · ${appName}` : "Inbox";
  return unread > 0 ? `(${unread > 99 ? "99+" : unread}) ${base}` : base;
}

/**
 * What a feed event is worth a notification for, judged against the state before it: a new conversation in a view the
 * agent works (not bots, not filtered, not someone else's), or a visitor message in a conversation the agent is not
 * looking at (or the tab is hidden). Text only: the page builds no markup from it.
 * @param {State} before @param {FeedEvent} event @param {boolean} pageVisible
 * @returns {{title: string, body: string, tag: string} | null}
 */
export function notificationFor(before, event, pageVisible) {
  if (event.type === "conversation") {
    const row = event.row;
    const id = row.conversation.id;
    // New: not held by the page and at most its first message (a change to a conversation outside the loaded list
    // is not new). Its first visitor message may notify too: both use the conversation as tag, so one shows.
    if (id in before.rows || row.conversation.last_seq > 1) return null;
    if (row.blocked || row.spam || row.handled_by !== "agents") return null;
    const mine = row.conversation.assignee?.id;
    if (mine && mine !== before.me?.id) return null;
    return { title: `New conversation: ${row.contact_name}`, body: row.preview ?? row.title, tag: id };
  }
  if (event.type === "message" && event.message.author.kind === "visitor") {
    const m = event.message;
    const row = before.rows[m.conversation_id];
    if (!row || row.blocked || row.spam || row.handled_by !== "agents") return null;
    const assignee = row.conversation.assignee?.id;
    if (assignee && assignee !== before.me?.id) return null;
    if (pageVisible && before.openId === m.conversation_id) return null;
    if (before.messages[m.conversation_id]?.some((x) => x.seq === m.seq)) return null; // a replayed duplicate
    return { title: row.contact_name, body: m.body, tag: m.conversation_id };
  }
  return null;
}

export function notificationsWanted() {
  try {
    return localStorage.getItem(STORAGE_KEY) === "on";
  } catch {
    return false;
  }
}

/** Turns desktop notifications on (asking the browser's permission) or off. Resolves to the resulting choice. */
export async function setNotificationsWanted(/** @type {boolean} */ on) {
  if (on && typeof Notification !== "undefined" && Notification.permission !== "granted") {
    const answer = await Notification.requestPermission();
    if (answer !== "granted") on = false;
  }
  try {
    localStorage.setItem(STORAGE_KEY, on ? "on" : "off");
  } catch {
    // Private mode without storage: the choice lasts for this page only.
  }
  return on;
}

/** Shows one desktop notification; clicking it focuses the tab and calls `onClick`. */
export function showNotification(
  /** @type {{title: string, body: string, tag: string}} */ n,
  /** @type {() => void} */ onClick,
) {
  if (!notificationsWanted() || typeof Notification === "undefined" || Notification.permission !== "granted") return;
  const shown = new Notification(n.title, { body: n.body.slice(0, 200), tag: n.tag });
  shown.addEventListener("click", () => {
    window.focus();
    onClick();
    shown.close();
  });
}
