// @ts-check
// The left side: the views with their counts, the filters and search, and the conversation list (newest first,
// unread rows in bold, arrow keys move between rows, Enter opens one).

import { h, replace } from "./dom.js";
import { shortTime, fullTime, isoTime } from "./format.js";
import { isTyping, isUnread, emptyFilters } from "./state.js";

/**
 * @typedef {import("./state.js").State} State
 * @typedef {import("./types.js").ViewName} ViewName
 * @typedef {import("./types.js").Filters} Filters
 * @typedef {import("./types.js").InboxRow} InboxRow
 */

/** @type {[ViewName, string][]} */
export const VIEWS = [
  ["all", "All conversations"],
  ["mine", "Assigned to me"],
  ["unassigned", "Unassigned"],
  ["bots", "Bots"],
  ["filtered", "Filtered"],
];

const CHANNELS = [
  ["", "All channels"],
  ["mobile_chat", "Chat"],
  ["email", "Email"],
  ["form", "Form"],
  ["messenger", "Messenger"],
  ["whatsapp", "WhatsApp"],
  ["call", "Call"],
];

/** @param {Element} nav @param {State} state @param {(view: ViewName) => void} onView */
export function renderViews(nav, state, onView) {
  replace(
    nav,
    h("h2", { class: "pane-title" }, "Inbox"),
    h(
      "ul",
      { class: "views" },
      VIEWS.map(([view, label]) => {
        const count = state.counts?.[view];
        const unread = state.counts?.unread?.[view];
        return h(
          "li",
          null,
          h(
            "button",
            {
              type: "button",
              class: view === state.view ? "view active" : "view",
              "data-key": "view-" + view,
              "aria-current": view === state.view ? "page" : null,
              on: { click: () => onView(view) },
            },
            h("span", { class: "view-label" }, label),
            count === undefined
              ? null
              : h(
                  "span",
                  {
                    class: unread ? "count unread" : "count",
                    "aria-label": `${count} open${unread ? `, ${unread} unread` : ""}`,
                  },
                  String(count),
                ),
          ),
        );
      }),
    ),
  );
}

/**
 * The filters and the search box, built once (typing in them must not be re-rendered under the caret).
 * @param {Element} form @param {State} state @param {(filters: Filters) => void} onChange
 */
export function mountFilters(form, state, onChange) {
  const f = state.filters;
  const agents = Object.values(state.agents).sort((a, b) => a.display_name.localeCompare(b.display_name));
  const select = (
    /** @type {string} */ name,
    /** @type {string} */ label,
    /** @type {string[][]} */ options,
    /** @type {string} */ value,
  ) =>
    h(
      "label",
      { class: "field" },
      h("span", { class: "field-label" }, label),
      h(
        "select",
        { name },
        options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)),
      ),
    );
  const search = h("input", {
    type: "search",
    name: "q",
    value: f.q,
    placeholder: "Search name, email, messages",
    maxlength: 200,
    "aria-label": "Search conversations",
  });
  replace(
    form,
    h(
      "div",
      { class: "list-tools-box" },
      h("div", { class: "search-row" }, search),
      h(
        "details",
        { class: "filters" },
        h("summary", null, "Filters"),
        h(
          "div",
          { class: "filter-grid" },
          select(
            "status",
            "Status",
            [
              ["", "Any status"],
              ["open", "Open"],
              ["closed", "Closed"],
            ],
            f.status,
          ),
          select("assignee", "Assignee", [["", "Anyone"], ...agents.map((a) => [a.id, a.display_name])], f.assignee),
          select("channel", "Channel", CHANNELS, f.channel),
          h(
            "label",
            { class: "field" },
            h("span", { class: "field-label" }, "Opened from"),
            h("input", { type: "date", name: "from", value: f.from }),
          ),
          h(
            "label",
            { class: "field" },
            h("span", { class: "field-label" }, "to"),
            h("input", { type: "date", name: "to", value: f.to }),
          ),
          h(
            "button",
            {
              type: "button",
              class: "btn link",
              on: {
                click: () => {
                  const reset = emptyFilters();
                  for (const el of form.querySelectorAll("select, input")) {
                    const input = /** @type {HTMLInputElement} */ (el);
                    input.value = reset[/** @type {keyof Filters} */ (input.name)] ?? "";
                  }
                  statusChosen = false;
                  onChange(reset);
                },
              },
            },
            "Reset filters",
          ),
        ),
      ),
    ),
  );
  const statusSelect = /** @type {HTMLSelectElement} */ (form.querySelector('[name="status"]'));
  let statusChosen = f.status !== emptyFilters().status;
  const read = () => {
    const get = (/** @type {string} */ name) =>
      /** @type {HTMLInputElement} */ (form.querySelector(`[name="${name}"]`)).value;
    return /** @type {Filters} */ ({
      status: get("status"),
      assignee: get("assignee"),
      channel: get("channel"),
      from: get("from"),
      to: get("to"),
      q: get("q"),
    });
  };
  // Listeners go on the fresh content, not on the form itself: signing in again mounts the filters again.
  const fields = /** @type {HTMLElement} */ (form.firstElementChild);
  fields.addEventListener("change", (e) => {
    if (/** @type {HTMLElement} */ (e.target).getAttribute("name") === "status") statusChosen = true;
    onChange(read());
  });
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let debounce;
  search.addEventListener("input", () => {
    // Search covers open and closed conversations, unless the agent picked a status themselves.
    if (!statusChosen) statusSelect.value = search.value.trim() ? "" : "open";
    clearTimeout(debounce);
    debounce = setTimeout(() => onChange(read()), 300);
  });
  if (!form.hasAttribute("data-mounted")) {
    form.setAttribute("data-mounted", "");
    form.addEventListener("submit", (e) => e.preventDefault());
  }
}

/**
 * @param {Element} listEl
 * @param {State} state
 * @param {number} now
 * @param {{onOpen: (id: string) => void, onMore: () => void, loading: boolean}} props
 */
export function renderList(listEl, state, now, props) {
  const rows = state.listIds.map((id) => state.rows[id]).filter(Boolean);
  const items = rows.map((row) => h("li", null, rowButton(row, state, now, props.onOpen)));
  replace(
    listEl,
    rows.length === 0
      ? h("p", { class: "empty" }, props.loading ? "Loading conversations…" : "No conversations here.")
      : h(
          "ul",
          {
            class: "rows",
            "aria-label": "Conversations, newest first",
            on: { keydown: (e) => moveBetweenRows(/** @type {KeyboardEvent} */ (e)) },
          },
          items,
        ),
    state.nextCursor
      ? h(
          "button",
          { type: "button", class: "btn more", "data-key": "more", on: { click: props.onMore } },
          "Load more conversations",
        )
      : null,
  );
}

/** @param {InboxRow} row @param {State} state @param {number} now @param {(id: string) => void} onOpen */
function rowButton(row, state, now, onOpen) {
  const c = row.conversation;
  const unread = isUnread(row);
  const typing = isTyping(state, c.id, now);
  const badges = [
    c.status === "closed" ? h("span", { class: "badge muted" }, "Closed") : null,
    row.handled_by === "bot" ? h("span", { class: "badge bot" }, "Bot") : null,
    row.blocked ? h("span", { class: "badge danger" }, "Blocked") : null,
    row.spam ? h("span", { class: "badge danger" }, "Spam") : null,
  ];
  return h(
    "button",
    {
      type: "button",
      class: ["row", unread ? "unread" : "", c.id === state.openId ? "active" : ""].join(" ").trim(),
      "data-key": c.id,
      "aria-current": c.id === state.openId ? "true" : null,
      on: { click: () => onOpen(c.id) },
    },
    h(
      "span",
      { class: "row-top" },
      unread ? h("span", { class: "dot", "aria-hidden": "true" }) : null,
      h("span", { class: "row-name" }, row.contact_name),
      unread ? h("span", { class: "visually-hidden" }, ", unread") : null,
      h(
        "time",
        { class: "row-time", datetime: isoTime(row.opened_at), title: fullTime(row.opened_at) },
        shortTime(row.opened_at, now),
      ),
    ),
    h("span", { class: typing ? "row-title typing" : "row-title" }, typing ? "typing…" : row.title),
    h(
      "span",
      { class: "row-meta" },
      h("span", { class: "chip" }, row.channel_label),
      h("span", { class: "row-assignee" }, c.assignee ? c.assignee.display_name : "Unassigned"),
      badges,
    ),
  );
}

/** Up/Down move the focus between rows; Home/End to the first/last. */
function moveBetweenRows(/** @type {KeyboardEvent} */ e) {
  if (!["ArrowDown", "ArrowUp", "Home", "End"].includes(e.key)) return;
  const list = /** @type {HTMLElement} */ (e.currentTarget);
  const rows = /** @type {HTMLElement[]} */ ([...list.querySelectorAll("button.row")]);
  const at = rows.indexOf(/** @type {HTMLElement} */ (document.activeElement));
  const to = e.key === "Home" ? 0 : e.key === "End" ? rows.length - 1 : at + (e.key === "ArrowDown" ? 1 : -1);
  if (to >= 0 && to < rows.length) {
    e.preventDefault();
    rows[to].focus();
  }
}
