// @ts-check
// The page's one store, as pure functions: every change is `next = f(state, input)`, never a mutation, so the
// feed's events can be unit-tested (replays, duplicates, resync) without a browser.

import { previewOf } from "./attachments.js";

/**
 * @typedef {import("./types.js").InboxRow} InboxRow
 * @typedef {import("./types.js").Message} Message
 * @typedef {import("./types.js").Note} Note
 * @typedef {import("./types.js").FeedEvent} FeedEvent
 * @typedef {import("./types.js").ViewName} ViewName
 * @typedef {import("./types.js").Filters} Filters
 * @typedef {import("./types.js").Counts} Counts
 * @typedef {import("./types.js").AgentMe} AgentMe
 * @typedef {import("./types.js").Agent} Agent
 *
 * @typedef {{
 *   me: AgentMe | null,
 *   agents: Record<string, Agent>,
 *   view: ViewName,
 *   filters: Filters,
 *   rows: Record<string, InboxRow>,
 *   listIds: string[],
 *   nextCursor: string | null,
 *   counts: Counts | null,
 *   cursor: string | null,
 *   needsReload: boolean,
 *   openId: string | null,
 *   messages: Record<string, Message[]>,
 *   hasEarlier: Record<string, boolean>,
 *   notes: Record<string, Note[]>,
 *   typingUntil: Record<string, number>
 * }} State
 */

/** How long a visitor's typing=true lasts without a new frame (the server's rule). */
export const TYPING_MS = 6000;

/** @returns {Filters} */
export function emptyFilters() {
  return { status: "open", assignee: "", channel: "", from: "", to: "", q: "" };
}

/** @returns {State} */
export function initialState() {
  return {
    me: null,
    agents: {},
    view: "all",
    filters: emptyFilters(),
    rows: {},
    listIds: [],
    nextCursor: null,
    counts: null,
    cursor: null,
    needsReload: false,
    openId: null,
    messages: {},
    hasEarlier: {},
    notes: {},
    typingUntil: {},
  };
}

/** Newest first by opening time, then by id (the server's order). */
export function compareRows(/** @type {InboxRow} */ a, /** @type {InboxRow} */ b) {
  if (a.opened_at !== b.opened_at) return b.opened_at - a.opened_at;
  return a.conversation.id < b.conversation.id ? 1 : a.conversation.id > b.conversation.id ? -1 : 0;
}

/** The team has not read everything in it. */
export function isUnread(/** @type {InboxRow} */ row) {
  return row.conversation.last_seq > row.conversation.agent_read_seq;
}

/** Local midnight of a `YYYY-MM-DD` date input, in Unix ms (NaN when empty or malformed). */
export function dayStart(/** @type {string} */ value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).getTime() : NaN;
}

/**
 * Whether a row belongs to a view under the filters, mirroring the server's rules (server/README.md, "Views").
 * Text search runs on the server over every message; here only the name, email, title and preview can be seen, so a
 * live row joins a searched list only when one of those matches.
 * @param {InboxRow} row @param {ViewName} view @param {Filters} f @param {string | undefined} meId
 */
export function matchesView(row, view, f, meId) {
  const filtered = row.blocked || row.spam;
  const assignee = row.conversation.assignee?.id;
  const byView = {
    all: !filtered && row.handled_by === "agents",
    mine: !filtered && assignee !== undefined && assignee === meId,
    unassigned: !filtered && row.handled_by === "agents" && assignee === undefined,
    bots: !filtered && row.handled_by === "bot",
    filtered,
  }[view];
  if (!byView) return false;
  if (f.status && row.conversation.status !== f.status) return false;
  if (f.assignee && assignee !== f.assignee) return false;
  if (f.channel && row.conversation.channel !== f.channel) return false;
  const from = dayStart(f.from);
  if (!Number.isNaN(from) && row.opened_at < from) return false;
  const to = dayStart(f.to);
  if (!Number.isNaN(to) && row.opened_at >= to + 86_400_000) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    const seen = [row.contact_name, row.contact_email ?? "", row.title, row.preview ?? ""];
    if (!seen.some((text) => text.toLowerCase().includes(q))) return false;
  }
  return true;
}

/**
 * A fresh page of the list from REST (`append`: the next page of the same list).
 * @param {State} state @param {InboxRow[]} rows @param {string | undefined} nextCursor @param {boolean} append
 * @returns {State}
 */
export function loadList(state, rows, nextCursor, append) {
  const byId = { ...state.rows };
  for (const row of rows) byId[row.conversation.id] = row;
  const ids = append ? [...state.listIds] : [];
  for (const row of rows) if (!ids.includes(row.conversation.id)) ids.push(row.conversation.id);
  ids.sort((a, b) => compareRows(byId[a], byId[b]));
  return { ...state, rows: byId, listIds: ids, nextCursor: nextCursor ?? null, needsReload: false };
}

/** @param {State} state @param {ViewName} view @param {Filters} filters @returns {State} */
export function chooseView(state, view, filters) {
  return { ...state, view, filters, listIds: [], nextCursor: null };
}

/**
 * The open conversation's latest page (or an earlier page, `earlier`), merged by seq.
 * @param {State} state @param {string} id @param {Message[]} page @param {boolean} hasMore @param {boolean} earlier
 * @returns {State}
 */
export function loadMessages(state, id, page, hasMore, earlier) {
  const merged = mergeMessages(state.messages[id] ?? [], page);
  const hasEarlier = earlier || !(id in state.hasEarlier) ? hasMore : state.hasEarlier[id];
  return {
    ...state,
    messages: { ...state.messages, [id]: merged },
    hasEarlier: { ...state.hasEarlier, [id]: hasEarlier },
  };
}

/** @param {State} state @param {string} id @param {Note[]} notes @returns {State} */
export function loadNotes(state, id, notes) {
  return { ...state, notes: { ...state.notes, [id]: mergeNotes(state.notes[id] ?? [], notes) } };
}

/** @param {State} state @param {string | null} id @returns {State} */
export function openConversation(state, id) {
  return { ...state, openId: id };
}

/** Messages by seq, each seq once (a duplicate is the same message: the stored one wins). */
export function mergeMessages(/** @type {Message[]} */ have, /** @type {Message[]} */ incoming) {
  const bySeq = new Map(have.map((m) => [m.seq, m]));
  for (const m of incoming) if (!bySeq.has(m.seq)) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** Notes by id, each once, in the order they are shown. */
export function mergeNotes(/** @type {Note[]} */ have, /** @type {Note[]} */ incoming) {
  const byId = new Map(have.map((n) => [n.id, n]));
  for (const n of incoming) if (!byId.has(n.id)) byId.set(n.id, n);
  return [...byId.values()].sort((a, b) => a.after_seq - b.after_seq || a.created_at - b.created_at);
}

/**
 * Messages and notes in reading order: a note comes after the message whose seq is its `after_seq`.
 * @param {Message[]} messages @param {Note[]} notes
 * @returns {({kind: "message", message: Message} | {kind: "note", note: Note})[]}
 */
export function timeline(messages, notes) {
  /** @type {({kind: "message", message: Message} | {kind: "note", note: Note})[]} */
  const out = [];
  const first = messages.length ? messages[0].seq : Infinity;
  let n = 0;
  // Notes written before the first loaded message belong to history not loaded yet, unless all history is here.
  while (n < notes.length && notes[n].after_seq < first - 1) n++;
  for (const message of messages) {
    while (n < notes.length && notes[n].after_seq < message.seq) out.push({ kind: "note", note: notes[n++] });
    out.push({ kind: "message", message });
  }
  while (n < notes.length) out.push({ kind: "note", note: notes[n++] });
  return out;
}

/**
 * A row changed (feed event, or the answer to an action): replace it (a copy older than the one held, by last_seq, is
 * a late duplicate and is ignored), and keep the current list in line with the view. The open conversation stays in
 * the list until the agent leaves it, so an action never makes it jump away.
 * @param {State} state @param {InboxRow} row @returns {State}
 */
export function putRow(state, row) {
  const id = row.conversation.id;
  const held = state.rows[id];
  if (held && row.conversation.last_seq < held.conversation.last_seq) return state;
  if (held && !row.preview && held.preview && held.conversation.last_seq === row.conversation.last_seq) {
    // The same last message, with files only: keep the "📎 name" line the page made from it.
    row = { ...row, preview: held.preview, title: row.title ? row.title : held.title };
  }
  const rows = { ...state.rows, [id]: row };
  const inList = state.listIds.includes(id);
  const belongs = matchesView(row, state.view, state.filters, state.me?.id);
  let listIds = state.listIds;
  if (belongs && !inList) {
    listIds = [...listIds, id].sort((a, b) => compareRows(rows[a], rows[b]));
    // A row older than the last loaded page waits for "load more" instead of jumping in at the end.
    const last = state.listIds[state.listIds.length - 1];
    if (state.nextCursor && last && compareRows(row, rows[last]) > 0) listIds = state.listIds;
  } else if (!belongs && inList && id !== state.openId) {
    listIds = listIds.filter((x) => x !== id);
  }
  return { ...state, rows, listIds };
}

/**
 * Applies one feed event. `now` (ms) only serves typing expiry. Events carrying a cursor move `state.cursor`.
 * @param {State} state @param {FeedEvent} event @param {number} now @returns {State}
 */
export function apply(state, event, now) {
  switch (event.type) {
    case "ready":
      return { ...state, cursor: event.cursor };
    case "resync":
      return { ...state, cursor: null, needsReload: true };
    case "conversation": {
      const next = putRow(state, event.row);
      const typingUntil = { ...next.typingUntil };
      if (event.row.visitor_typing) typingUntil[event.row.conversation.id] = now + TYPING_MS;
      else delete typingUntil[event.row.conversation.id];
      return { ...next, typingUntil, cursor: event.cursor };
    }
    case "message":
      return { ...withMessage(state, event.message), cursor: event.cursor };
    case "note": {
      const n = event.note;
      const next = { ...state, cursor: event.cursor };
      if (n.conversation_id in state.notes) {
        next.notes = { ...state.notes, [n.conversation_id]: mergeNotes(state.notes[n.conversation_id], [n]) };
      }
      return next;
    }
    case "typing": {
      const typingUntil = { ...state.typingUntil };
      if (event.typing) typingUntil[event.conversation_id] = now + TYPING_MS;
      else delete typingUntil[event.conversation_id];
      return { ...state, typingUntil };
    }
    case "presence": {
      const agent = state.agents[event.agent_id];
      const agents = agent ? { ...state.agents, [agent.id]: { ...agent, available: event.available } } : state.agents;
      const me = state.me && state.me.id === event.agent_id ? { ...state.me, available: event.available } : state.me;
      return { ...state, agents, me };
    }
  }
}

/**
 * A message appended (from the feed, or the answer to the agent's own reply): into the loaded conversation once,
 * the row's last seq and preview moved forward, and a visitor message ends their typing indicator.
 * @param {State} state @param {Message} m @returns {State}
 */
export function withMessage(state, m) {
  let next = state;
  if (m.conversation_id in state.messages) {
    next = {
      ...next,
      messages: { ...state.messages, [m.conversation_id]: mergeMessages(state.messages[m.conversation_id], [m]) },
    };
  }
  if (m.author.kind === "visitor" && m.conversation_id in state.typingUntil) {
    const typingUntil = { ...state.typingUntil };
    delete typingUntil[m.conversation_id];
    next = { ...next, typingUntil };
  }
  const row = state.rows[m.conversation_id];
  if (row && m.seq > row.conversation.last_seq) {
    // As the server does: the author has read the conversation up to their own message (bots and system count as
    // the team's side).
    const read = m.author.kind === "visitor" ? "visitor_read_seq" : "agent_read_seq";
    const conversation = { ...row.conversation, last_seq: m.seq, [read]: Math.max(row.conversation[read], m.seq) };
    const preview = previewOf(m);
    // The title follows the last message unless it is a ticket's subject.
    const title = row.title === (row.preview ?? "") || !row.title ? preview : row.title;
    const bumped = { ...row, conversation, preview, title };
    next = { ...next, rows: { ...next.rows, [m.conversation_id]: bumped } };
  }
  return next;
}

/** Whether the visitor is typing in that conversation at `now`. */
export function isTyping(/** @type {State} */ state, /** @type {string} */ id, /** @type {number} */ now) {
  return (state.typingUntil[id] ?? 0) > now;
}

/** Conversations with something unread among the rows the page holds (the title badge). */
export function unreadCount(/** @type {State} */ state) {
  if (state.counts?.unread?.all !== undefined) return state.counts.unread.all;
  return Object.values(state.rows).filter(
    (r) => isUnread(r) && !r.blocked && !r.spam && r.conversation.status === "open",
  ).length;
}
