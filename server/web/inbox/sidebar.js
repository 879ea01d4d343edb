// @ts-check
// The visitor sidebar: who (name, email, identified or anonymous), the chat properties the app set, the device,
// the consent records (text version, decision, when), the visitor's other conversations and their tickets.

import { h, replace } from "./dom.js";
import { fullTime, humanize, shortTime } from "./format.js";

/**
 * @typedef {import("./types.js").VisitorContext} VisitorContext
 * @typedef {import("./types.js").InboxRow} InboxRow
 */

/**
 * @param {Element} el
 * @param {InboxRow} row
 * @param {VisitorContext | null} ctx null while loading
 * @param {string | null} error
 * @param {number} now
 * @param {(id: string) => void} onOpen
 * @param {() => void} onHide
 */
export function renderSidebar(el, row, ctx, error, now, onOpen, onHide) {
  const title = h(
    "div",
    { class: "side-head" },
    h("h2", { class: "pane-title" }, "Visitor"),
    h(
      "button",
      {
        type: "button",
        class: "btn link",
        "aria-controls": "sidebar",
        "data-key": "hide-sidebar",
        on: { click: onHide },
      },
      "Hide",
    ),
  );
  if (!ctx) {
    // What the row already says, while the details load (or when they cannot).
    replace(
      el,
      title,
      h(
        "section",
        { class: "side-card", "aria-labelledby": "side-contact" },
        h("h3", { id: "side-contact", class: "contact-name" }, row.contact_name),
        row.contact_email ? h("p", { class: "contact-email" }, row.contact_email) : null,
        h(
          "p",
          null,
          row.visitor_user_id
            ? h("span", { class: "badge ok" }, "Identified")
            : h("span", { class: "badge muted" }, "Anonymous"),
        ),
      ),
      h(
        "section",
        { class: "side-card" },
        h(
          "p",
          { class: error ? "error" : "empty", role: error ? "alert" : null },
          error ? `Visitor details are unavailable: ${error}` : "Loading visitor details…",
        ),
      ),
    );
    return;
  }
  const name = ctx.name || row.contact_name;
  const props = Object.entries(ctx.properties).sort(([a], [b]) => a.localeCompare(b));
  const d = ctx.device;
  replace(
    el,
    title,
    h(
      "section",
      { class: "side-card", "aria-labelledby": "side-contact" },
      h("h3", { id: "side-contact", class: "contact-name" }, name),
      ctx.email ? h("p", { class: "contact-email" }, ctx.email) : null,
      h(
        "p",
        null,
        ctx.identified
          ? h("span", { class: "badge ok" }, "Identified")
          : h("span", { class: "badge muted" }, "Anonymous"),
        ctx.user_id ? h("span", { class: "mono" }, " user ", ctx.user_id) : null,
      ),
      row.contact_unlinked ? h("p", { class: "hint" }, "The contact was unlinked from this conversation.") : null,
    ),
    section(
      "side-props",
      "Chat properties",
      props.length ? dl(props.map(([k, v]) => [k, v])) : h("p", { class: "empty" }, "None set by the app."),
    ),
    section(
      "side-device",
      "Device",
      d
        ? dl(
            [
              ["Platform", [d.platform, d.os_version].filter(Boolean).join(" ")],
              ["Model", d.device_model],
              ["App version", d.app_version],
              ["Locale", d.locale],
              ["SDK", d.sdk_version],
            ].filter(([, v]) => v),
          )
        : h("p", { class: "empty" }, "Not reported."),
    ),
    section(
      "side-consent",
      "Consent",
      ctx.consents.length
        ? h(
            "ul",
            { class: "side-list" },
            ctx.consents.map((r) =>
              h(
                "li",
                null,
                h(
                  "div",
                  { class: "line" },
                  h(
                    "span",
                    null,
                    r.kind === "process_data"
                      ? "Data processing"
                      : `Communication${r.subscription_type ? ` (${r.subscription_type})` : ""}`,
                  ),
                  h("span", { class: r.decision === "declined" ? "badge danger" : "badge ok" }, humanize(r.decision)),
                ),
                h(
                  "div",
                  { class: "sub" },
                  "Text version ",
                  h("span", { class: "mono", title: r.text_hash }, r.text_hash.slice(0, 8)),
                  " · ",
                  h("time", { title: fullTime(r.decided_at) }, fullTime(r.decided_at)),
                ),
              ),
            ),
          )
        : h("p", { class: "empty" }, "No consent recorded."),
    ),
    section(
      "side-convs",
      "Previous conversations",
      ctx.conversations.length
        ? h(
            "ul",
            { class: "side-list" },
            ctx.conversations.map((c) =>
              h(
                "li",
                null,
                h(
                  "button",
                  { type: "button", class: "link-row", on: { click: () => onOpen(c.conversation.id) } },
                  h(
                    "span",
                    { class: "line" },
                    h("span", { class: "ellipsis" }, c.title),
                    h("time", { title: fullTime(c.opened_at) }, shortTime(c.opened_at, now)),
                  ),
                  h(
                    "span",
                    { class: "sub" },
                    c.conversation.status === "open" ? "Open" : "Closed",
                    " · ",
                    c.channel_label,
                  ),
                ),
              ),
            ),
          )
        : h("p", { class: "empty" }, "None."),
    ),
    section(
      "side-tickets",
      "Tickets",
      ctx.tickets.length
        ? h(
            "ul",
            { class: "side-list" },
            ctx.tickets.map((t) =>
              h(
                "li",
                null,
                h(
                  "div",
                  { class: "line" },
                  h("span", { class: "ellipsis" }, `#${t.id} ${t.subject ?? "(no subject)"}`),
                  h("span", { class: "badge" }, humanize(t.status)),
                ),
                h("div", { class: "sub" }, t.pipeline, " · updated ", shortTime(t.updated_at, now)),
              ),
            ),
          )
        : h("p", { class: "empty" }, "None."),
    ),
  );
}

/** @param {string} id @param {string} title @param {Node} body */
function section(id, title, body) {
  return h("section", { class: "side-card", "aria-labelledby": id }, h("h3", { id }, title), body);
}

/** @param {string[][]} pairs */
function dl(pairs) {
  return h(
    "dl",
    { class: "props" },
    pairs.map(([k, v]) => [h("dt", null, k), h("dd", null, v)]),
  );
}
