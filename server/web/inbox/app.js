// @ts-check
// The page: sign-in; the lists, counts and open conversation from REST; the live feed. Every time the feed is
// ready on a fresh connection (the first, or after a resync) the page loads again from REST while holding the feed's
// events, then applies them in order: nothing that happens between a REST read and the feed's start is lost. The
// page also loads at once, so the inbox works (without live updates) while the feed is unreachable.

import { createApi, ApiError } from "./api.js";
import { byId, h, replace } from "./dom.js";
import { createFeed, feedUrl } from "./feed.js";
import * as S from "./state.js";
import { renderList, renderViews, mountFilters } from "./list.js";
import { readScroll, renderHeader, renderMessages, renderTyping } from "./conversation.js";
import { mountComposer } from "./composer.js";
import { DEFAULT_LIMITS } from "./attachments.js";
import { renderActions } from "./actions.js";
import { renderSidebar } from "./sidebar.js";
import { renderLogin } from "./login.js";
import { authorName } from "./format.js";
import { notificationFor, notificationsWanted, setNotificationsWanted, showNotification, titleFor } from "./notify.js";

/**
 * @typedef {import("./types.js").FeedEvent} FeedEvent
 * @typedef {import("./types.js").Session} Session
 * @typedef {import("./types.js").InboxRow} InboxRow
 * @typedef {import("./types.js").VisitorContext} VisitorContext
 * @typedef {import("./types.js").CannedResponse} CannedResponse
 */

const api = createApi({ onUnauthorized: () => signedOut("Your session has ended. Sign in again.") });
let state = S.initialState();
/** Events held while a REST load is in flight. */
let held = /** @type {FeedEvent[] | null} */ (null);
let listLoading = false;
let listRequest = 0;
let loadingEarlier = false;
/** @type {{id: string, data: VisitorContext | null, error: string | null}} */
let visitor = { id: "", data: null, error: null };
/** @type {CannedResponse[]} */
let canned = [];
/** The app's attachment limits (its chatflow list), checked before a file is uploaded. */
let limits = DEFAULT_LIMITS;
/** @type {ReturnType<typeof mountComposer> | null} */
let composer = null;
let composerFor = "";
let sidebarOpen = window.matchMedia("(min-width: 1280px)").matches;
let feedStatus = "connecting";

const feed = createFeed({
  url: (after) => feedUrl(location, after),
  onEvent,
  onStatus: (status) => {
    feedStatus = status;
    scheduleRender();
  },
});

// ---- sign-in -------------------------------------------------------------------------------------------------

async function start() {
  try {
    signedIn(await api.me());
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) signedOut();
    else signedOut(e instanceof Error ? e.message : String(e));
  }
}

/** @param {string} [notice] */
function signedOut(notice) {
  feed.stop();
  composer?.dispose();
  composer = null;
  composerFor = "";
  state = S.initialState();
  byId("app").hidden = true;
  byId("login").hidden = false;
  document.title = "Sign in · Inbox";
  renderLogin(byId("login"), api, signedIn, notice);
}

/** @param {Session} session */
async function signedIn(session) {
  api.setCsrf(session.csrf_token);
  state = { ...S.initialState(), me: session.agent };
  lastDeps.clear();
  byId("login").hidden = true;
  byId("app").hidden = false;
  held = [];
  feed.start();
  try {
    const [{ agents }, cannedList] = await Promise.all([
      api.agents(),
      api.canned().catch(() => ({ canned_responses: [] })),
    ]);
    state = { ...state, agents: Object.fromEntries(agents.map((a) => [a.id, a])) };
    canned = cannedList.canned_responses;
    limits = (await api.attachmentLimits(session.agent.app_id).catch(() => null)) ?? DEFAULT_LIMITS;
  } catch (e) {
    toast(e instanceof Error ? e.message : String(e), true);
  }
  mountFilters(byId("filters"), state, (filters) => chooseView(state.view, filters));
  reloadAll();
  const opened = /^#\/c\/([\w-]+)$/.exec(location.hash);
  if (opened) openConversation(opened[1]);
  scheduleRender();
}

// ---- feed ------------------------------------------------------------------------------------------------------

/** @param {FeedEvent} event */
function onEvent(event) {
  if (event.type === "ready") {
    const fresh = state.cursor === null; // no cursor was passed: this connection starts from now
    state = S.apply(state, event, Date.now());
    if (fresh || state.needsReload) reloadAll();
    return;
  }
  if (event.type === "resync") {
    // Lost events: hold everything until the next connection is ready, then reload (see reloadAll).
    held = held ?? [];
    state = S.apply(state, event, Date.now());
    return;
  }
  if (held !== null) {
    held.push(event);
    return;
  }
  handle(event);
}

/** @param {FeedEvent} event */
function handle(event) {
  const visible = document.visibilityState === "visible";
  const notice = notificationFor(state, event, visible && document.hasFocus());
  const before = state;
  state = S.apply(state, event, Date.now());
  if (notice) {
    const convId = notice.tag;
    showNotification(notice, () => openConversation(convId));
  }
  if (event.type === "message" && event.message.conversation_id === state.openId) {
    const row = state.rows[event.message.conversation_id];
    const isNew = !before.messages[event.message.conversation_id]?.some((m) => m.seq === event.message.seq);
    if (isNew && event.message.author.kind !== "agent" && row) {
      announce(`${authorName(event.message.author, row.contact_name)}: ${event.message.body}`);
    }
    markRead();
  } else if (
    event.type === "conversation" &&
    !(event.row.conversation.id in before.rows) &&
    state.listIds.includes(event.row.conversation.id)
  ) {
    announce(`New conversation from ${event.row.contact_name}`);
  }
  if (event.type === "conversation") scheduleCounts();
  scheduleRender();
}

/** Lists, counts and the open conversation from REST, while feed events wait; then the held events, in order. */
let reloads = 0;
async function reloadAll() {
  const mine = ++reloads;
  held = held ?? [];
  if (state.needsReload) {
    // Events were lost: what the page holds of conversations may have gaps; start again from REST.
    state = { ...state, messages: {}, notes: {}, hasEarlier: {} };
  }
  try {
    await Promise.all([loadList(false), loadCounts(), state.openId ? loadConversation(state.openId) : null]);
  } catch (e) {
    toast(e instanceof Error ? e.message : String(e), true);
  }
  if (mine !== reloads) return; // a newer reload releases the events
  const waiting = held ?? [];
  held = null;
  for (const event of waiting) handle(event);
  scheduleRender();
}

// ---- lists -----------------------------------------------------------------------------------------------------

/** @param {boolean} more */
async function loadList(more) {
  const ticket = ++listRequest;
  listLoading = true;
  scheduleRender();
  try {
    const page = await api.list(state.view, state.filters, more ? state.nextCursor : null);
    if (ticket !== listRequest) return; // the view or filters changed meanwhile
    state = S.loadList(state, page.conversations, page.next_cursor, more);
  } catch (e) {
    if (ticket === listRequest) toast(e instanceof Error ? e.message : String(e), true);
  } finally {
    if (ticket === listRequest) listLoading = false;
    scheduleRender();
  }
}

async function loadCounts() {
  try {
    // Wait first, then update: spreading the state and waiting inside the same expression would write back the
    // state as it was before the wait, undoing whatever a list load stored meanwhile.
    const counts = await api.counts();
    state = { ...state, counts };
  } catch {
    // Counts are a convenience: the list works without them.
  }
  scheduleRender();
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let countsTimer;
function scheduleCounts() {
  clearTimeout(countsTimer);
  countsTimer = setTimeout(loadCounts, 400);
}

/** @param {import("./types.js").ViewName} view @param {import("./types.js").Filters} filters */
function chooseView(view, filters) {
  state = S.chooseView(state, view, filters);
  loadList(false);
}

// ---- the open conversation ------------------------------------------------------------------------------------

/** @param {string} id */
async function openConversation(id) {
  if (state.openId !== id) {
    composer?.dispose();
    composer = null;
    composerFor = "";
  }
  state = S.openConversation(state, id);
  history.replaceState(null, "", `#/c/${id}`);
  scheduleRender();
  await loadConversation(id);
  composer?.focus();
}

/** @param {string} id */
async function loadConversation(id) {
  loadVisitor(id); // at once, in parallel: the panel must never show the previous visitor meanwhile
  try {
    const [row, page, notes] = await Promise.all([
      api.row(id),
      api.messages(id, null),
      api.notes(id).catch(() => ({ notes: [] })),
    ]);
    state = S.putRow(state, row);
    if (row.visitor_typing) state = S.apply(state, { type: "typing", conversation_id: id, typing: true }, Date.now());
    state = S.loadMessages(state, id, page.messages, page.has_more, false);
    state = S.loadNotes(state, id, notes.notes);
    scheduleRender();
    markRead();
  } catch (e) {
    toast(e instanceof Error ? e.message : String(e), true);
  }
}

/** @param {string} id */
async function loadVisitor(id) {
  visitor = { id, data: null, error: null };
  scheduleRender();
  try {
    const data = await api.visitor(id);
    if (visitor.id === id) visitor = { id, data, error: null };
  } catch (e) {
    if (visitor.id === id) visitor = { id, data: null, error: e instanceof Error ? e.message : String(e) };
  }
  scheduleRender();
}

async function loadEarlier() {
  const id = state.openId;
  const first = id ? state.messages[id]?.[0] : undefined;
  if (!id || !first || loadingEarlier) return;
  loadingEarlier = true;
  scheduleRender();
  try {
    const page = await api.messages(id, first.seq);
    state = S.loadMessages(state, id, page.messages, page.has_more, true);
  } catch (e) {
    toast(e instanceof Error ? e.message : String(e), true);
  } finally {
    loadingEarlier = false;
    scheduleRender();
  }
}

/** Everything in the open conversation is read once the agent can see it. */
function markRead() {
  const row = state.openId ? state.rows[state.openId] : undefined;
  if (!row || document.visibilityState !== "visible" || !S.isUnread(row)) return;
  const seq = row.conversation.last_seq;
  const id = row.conversation.id;
  state = {
    ...state,
    rows: { ...state.rows, [id]: { ...row, conversation: { ...row.conversation, agent_read_seq: seq } } },
  };
  api.read(id, seq).then(scheduleCounts, () => {});
}

/** @param {InboxRow} row */
function putRow(row) {
  state = S.putRow(state, row);
  scheduleCounts();
  scheduleRender();
}

// ---- rendering -------------------------------------------------------------------------------------------------

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  // Not requestAnimationFrame: it stops in background tabs, where the title's unread count matters most. Not a
  // timer either: even a zero delay waited several milliseconds before a new message showed (measured with
  // test/latency.js). A microtask still batches everything of the current task (a REST answer's updates) into one
  // render.
  queueMicrotask(() => {
    renderQueued = false;
    render();
  });
}

function render() {
  const me = state.me;
  if (!me) return;
  const now = Date.now();
  const scroll = readScroll(byId("messages"));
  document.title = titleFor(S.unreadCount(state), me.app_name);
  if (changed("topbar", [me, feedStatus])) renderTopbar();
  if (changed("views", [state.view, state.counts])) {
    renderViews(byId("views"), state, (view) => chooseView(view, state.filters));
  }
  const typingNow = Object.keys(state.typingUntil)
    .filter((c) => S.isTyping(state, c, now))
    .join(" ");
  if (
    changed("list", [state.listIds, state.rows, state.openId, typingNow, state.nextCursor, listLoading, minute(now)])
  ) {
    renderList(byId("list"), state, now, {
      onOpen: openConversation,
      onMore: () => loadList(true),
      loading: listLoading,
    });
  }
  document.body.classList.toggle("sidebar-hidden", !sidebarOpen);
  const row = state.openId ? state.rows[state.openId] : undefined;
  byId("conversation").hidden = !row;
  byId("no-conversation").hidden = !!row;
  if (!row) {
    replace(byId("sidebar"));
    return;
  }
  const id = row.conversation.id;
  // Regions are rebuilt only when what they show changed: an open menu, a text selection or the reading place must
  // survive unrelated updates.
  if (changed("head", [headShows(row), sidebarOpen, state.agents])) {
    renderHeader(byId("conv-header"), row);
    renderActions(byId("conv-actions"), row, {
      api,
      me,
      agents: Object.values(state.agents),
      onRow: putRow,
      onInfo: (t) => toast(t, false),
      onError: (t) => toast(t, true),
      sidebarOpen,
      onToggleSidebar: toggleSidebar,
    });
  }
  if (
    changed("messages", [
      id,
      state.messages[id],
      state.notes[id],
      row.conversation.visitor_read_seq,
      state.hasEarlier[id],
      loadingEarlier,
      minute(now),
    ])
  ) {
    renderMessages(byId("messages"), state, row, now, { onEarlier: loadEarlier, loadingEarlier, scroll });
  }
  renderTyping(byId("typing"), state, row, now);
  if (composerFor !== id) {
    composerFor = id;
    composer = mountComposer(byId("composer"), {
      api,
      agentName: me.display_name,
      canned: () => canned,
      limits: () => limits,
      row: () => state.rows[id] ?? row,
      onSent: (m) => {
        state = S.withMessage(state, m);
        scheduleRender();
      },
      onNote: (n) => {
        state = S.loadNotes(state, n.conversation_id, [n]);
        scheduleRender();
      },
      onError: (t) => toast(t, true),
    });
  }
  if (visitor.id === id && changed("sidebar", [sidebarShows(row), visitor.data, visitor.error, sidebarOpen])) {
    renderSidebar(byId("sidebar"), row, visitor.data, visitor.error, now, openConversation, toggleSidebar);
  }
}

function toggleSidebar() {
  sidebarOpen = !sidebarOpen;
  render();
  // The focus follows: into the panel when it opens, back to its toolbar button when it closes.
  const target = sidebarOpen
    ? document.querySelector("#sidebar [data-key=hide-sidebar]")
    : document.querySelector('#conv-actions [aria-controls="sidebar"]');
  if (target instanceof HTMLElement) target.focus();
}

/** @type {Map<string, unknown[]>} */
const lastDeps = new Map();
/** Whether a region's inputs changed since it was last drawn (compared by identity: the store never mutates). */
function changed(/** @type {string} */ region, /** @type {unknown[]} */ deps) {
  const before = lastDeps.get(region);
  if (before && before.length === deps.length && before.every((d, i) => d === deps[i])) return false;
  lastDeps.set(region, deps);
  return true;
}

/**
 * What the header and its actions show of a row, as a comparable key: a new message changes the row (preview, seqs)
 * but not this, so the toolbar (and an open menu) is not rebuilt for it.
 * @param {InboxRow} row
 */
function headShows(row) {
  const c = row.conversation;
  return JSON.stringify([
    c.id,
    c.status,
    c.assignee,
    row.handled_by,
    row.blocked,
    row.spam,
    row.contact_name,
    row.channel_label,
    row.chatflow_name,
    row.contact_unlinked,
    row.ticket_id,
  ]);
}

/** What the visitor panel shows of a row (the rest comes from the visitor context), as a comparable key. */
function sidebarShows(/** @type {InboxRow} */ row) {
  return JSON.stringify([
    row.conversation.id,
    row.contact_name,
    row.contact_email,
    row.visitor_user_id,
    row.contact_unlinked,
  ]);
}

/** Times on screen change at most once a minute. */
const minute = (/** @type {number} */ now) => Math.floor(now / 60_000);

function renderTopbar() {
  const me = /** @type {import("./types.js").AgentMe} */ (state.me);
  replace(
    byId("topbar"),
    h("span", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }), me.app_name),
    h(
      "span",
      { class: `feed ${feedStatus}`, title: "Live updates" },
      feedStatus === "live" ? "Live" : feedStatus === "connecting" ? "Connecting…" : "Offline, reconnecting…",
    ),
    h("span", { class: "spacer" }),
    h(
      "button",
      {
        type: "button",
        class: me.available ? "presence available" : "presence away",
        "aria-pressed": String(me.available),
        "data-key": "presence",
        title: me.available
          ? "Available: routing gives you new conversations. Click to go away."
          : "Away: you keep your conversations, routing gives you no new ones. Click to become available.",
        on: { click: togglePresence },
      },
      h("span", { class: "presence-dot", "aria-hidden": "true" }),
      me.available ? "Available" : "Away",
    ),
    h(
      "label",
      { class: "notify-toggle" },
      h("input", {
        type: "checkbox",
        checked: notificationsWanted(),
        "data-key": "notify",
        on: {
          change: async (e) => {
            const box = /** @type {HTMLInputElement} */ (e.currentTarget);
            const wanted = box.checked;
            box.checked = await setNotificationsWanted(wanted);
            if (wanted && !box.checked) toast("The browser does not allow notifications for this site.", true);
          },
        },
      }),
      "Desktop notifications",
    ),
    h("span", { class: "me" }, me.display_name),
    h(
      "button",
      {
        type: "button",
        class: "btn link",
        "data-key": "logout",
        on: {
          click: async () => {
            try {
              await api.logout();
            } catch {
              // Signed out locally anyway.
            }
            signedOut();
          },
        },
      },
      "Sign out",
    ),
  );
}

async function togglePresence() {
  const me = state.me;
  if (!me) return;
  try {
    const { available } = await api.presence(!me.available);
    state = S.apply(state, { type: "presence", agent_id: me.id, available }, Date.now());
    toast(
      available
        ? "You are available: routing gives you new conversations."
        : "You are away: you keep your conversations; routing gives you no new ones.",
      false,
    );
  } catch (e) {
    toast(e instanceof Error ? e.message : String(e), true);
  }
  scheduleRender();
}

// ---- messages to the agent -------------------------------------------------------------------------------------

/** @param {string} text */
function announce(text) {
  const live = byId("live");
  live.textContent = "";
  live.textContent = text.slice(0, 300);
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let toastTimer;
/** @param {string} text @param {boolean} isError */
function toast(text, isError) {
  const el = byId(isError ? "toast-error" : "toast");
  const other = byId(isError ? "toast" : "toast-error");
  other.textContent = "";
  el.textContent = text;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(
    () => {
      el.textContent = "";
    },
    isError ? 8000 : 4000,
  );
}

// Typing indicators expire by themselves: re-render while one is showing.
setInterval(() => {
  const now = Date.now();
  if (Object.values(state.typingUntil).some((until) => until > now - 1000)) scheduleRender();
}, 1000);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") markRead();
});
window.addEventListener("focus", markRead);

start();
