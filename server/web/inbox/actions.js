// @ts-check
// The conversation's toolbar: assign (me, another agent, a team, nobody), take over a bot conversation, close /
// reopen, and under "More": block / unblock the sender, spam, unlink the contact, create a ticket, download the
// transcript or email it.

import { h, replace } from "./dom.js";
import { menuButton } from "./menu.js";

/**
 * @typedef {import("./api.js").Api} Api
 * @typedef {import("./types.js").InboxRow} InboxRow
 * @typedef {import("./types.js").Agent} Agent
 * @typedef {import("./types.js").AgentMe} AgentMe
 *
 * @typedef {{
 *   api: Api, me: AgentMe, agents: Agent[],
 *   onRow: (row: InboxRow) => void, onInfo: (text: string) => void, onError: (text: string) => void,
 *   onToggleSidebar: () => void, sidebarOpen: boolean
 * }} ActionProps
 */

/** @param {Element} el @param {InboxRow} row @param {ActionProps} p */
export function renderActions(el, row, p) {
  const c = row.conversation;
  const id = c.id;
  /** Runs an action that answers the new row; refusals are shown with the server's message. */
  const run = (/** @type {() => Promise<InboxRow | unknown>} */ call, /** @type {string} */ done) => async () => {
    try {
      const result = await call();
      if (result && typeof result === "object" && "conversation" in result) p.onRow(/** @type {InboxRow} */ (result));
      else p.onRow(await p.api.row(id));
      p.onInfo(done);
    } catch (e) {
      p.onError(e instanceof Error ? e.message : String(e));
    }
  };
  const teams = [...new Set(p.agents.flatMap((a) => a.team_ids))].sort();
  const assignee = c.assignee?.id;

  const assign = menuButton({
    label: c.assignee ? c.assignee.display_name : "Unassigned",
    title: "Assignee",
    items: () => [
      {
        label: "Assign to me",
        disabled: assignee === p.me.id,
        onSelect: run(() => p.api.assign(id, { agent_id: p.me.id }), "Assigned to you."),
      },
      "separator",
      ...p.agents
        .filter((a) => a.id !== p.me.id)
        .map((a) => ({
          label: a.display_name,
          detail: a.available ? "available" : "away",
          disabled: assignee === a.id,
          onSelect: run(() => p.api.assign(id, { agent_id: a.id }), `Assigned to ${a.display_name}.`),
        })),
      ...(teams.length ? /** @type {const} */ (["separator"]) : []),
      ...teams.map((t) => ({
        label: `Team ${t}`,
        detail: "routing picks someone available",
        onSelect: run(() => p.api.assign(id, { team_id: t }), `Assigned to team ${t}.`),
      })),
      "separator",
      {
        label: "Unassign",
        disabled: !assignee,
        onSelect: run(() => p.api.assign(id, { agent_id: null }), "Unassigned."),
      },
    ],
  });

  const more = menuButton({
    label: "More",
    title: "More actions",
    items: () => [
      row.blocked
        ? { label: "Unblock sender", onSelect: run(() => p.api.action(id, "block", "DELETE"), "Sender unblocked.") }
        : {
            label: "Block sender",
            danger: true,
            detail: "their conversations go to Filtered",
            onSelect: run(() => p.api.action(id, "block"), "Sender blocked: their conversations are in Filtered."),
          },
      row.spam
        ? { label: "Not spam", onSelect: run(() => p.api.action(id, "spam", "DELETE"), "No longer marked as spam.") }
        : { label: "Mark as spam", danger: true, onSelect: run(() => p.api.action(id, "spam"), "Marked as spam.") },
      row.contact_unlinked
        ? { label: "Contact unlinked", disabled: true, onSelect: () => {} }
        : {
            label: "Unlink contact",
            detail: "the conversation becomes anonymous",
            onSelect: run(() => p.api.action(id, "unlink-contact"), "Contact unlinked from this conversation."),
          },
      "separator",
      row.ticket_id
        ? { label: `Ticket #${row.ticket_id}`, detail: "already created", disabled: true, onSelect: () => {} }
        : {
            label: "Create ticket",
            onSelect: run(async () => {
              const t = await p.api.createTicket(id);
              return p.api.row(t.conversation_id);
            }, "Ticket created."),
          },
      {
        label: "Download transcript",
        disabled: c.status !== "closed" || row.handled_by === "bot",
        detail:
          c.status !== "closed"
            ? "closed conversations only"
            : row.handled_by === "bot"
              ? "not for bot conversations"
              : undefined,
        onSelect: () => downloadTranscript(p, row),
      },
      {
        label: "Email transcript…",
        disabled: c.status !== "closed" || row.handled_by === "bot",
        detail: c.status !== "closed" ? "closed conversations only" : "up to 10 addresses",
        onSelect: () => emailTranscript(p, row),
      },
    ],
  });

  replace(
    el,
    h(
      "div",
      { class: "toolbar", role: "toolbar", "aria-label": "Conversation actions" },
      h("span", { class: "toolbar-label" }, "Assignee"),
      assign,
      row.handled_by === "bot"
        ? h(
            "button",
            {
              type: "button",
              class: "btn primary",
              on: { click: run(() => p.api.action(id, "take-over"), "You took the conversation over from the bot.") },
            },
            "Take over",
          )
        : null,
      c.status === "open"
        ? h(
            "button",
            {
              type: "button",
              class: "btn",
              title: "Close the conversation",
              on: { click: run(() => p.api.action(id, "close"), "Conversation closed.") },
            },
            "✓ Close",
          )
        : h(
            "button",
            {
              type: "button",
              class: "btn",
              on: { click: run(() => p.api.action(id, "reopen"), "Conversation reopened.") },
            },
            "Reopen",
          ),
      more,
      h(
        "button",
        {
          type: "button",
          class: "btn icon",
          "aria-pressed": String(p.sidebarOpen),
          "aria-controls": "sidebar",
          title: p.sidebarOpen ? "Hide the visitor panel" : "Show the visitor panel",
          on: { click: p.onToggleSidebar },
        },
        "Visitor",
      ),
    ),
  );
}

/** Asks for addresses and queues the transcript email (the server checks them and says what is wrong). */
async function emailTranscript(/** @type {ActionProps} */ p, /** @type {InboxRow} */ row) {
  const answer = window.prompt("Email the transcript to (addresses separated by commas):", row.contact_email ?? "");
  if (answer === null) return;
  const to = answer.split(/[\s,;]+/).filter((a) => a.length > 0);
  if (to.length === 0) return;
  try {
    const queued = await p.api.emailTranscript(row.conversation.id, to);
    p.onInfo(`Transcript email queued for ${queued.to.join(", ")}.`);
  } catch (e) {
    p.onError(e instanceof Error ? e.message : String(e));
  }
}

/** Fetches the plain-text transcript with the session and saves it as a file. */
async function downloadTranscript(/** @type {ActionProps} */ p, /** @type {InboxRow} */ row) {
  try {
    const text = await p.api.transcriptText(row.conversation.id);
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
    const safeName = row.contact_name.replace(/[^\p{L}\p{N}_-]+/gu, "-").slice(0, 40) || "conversation";
    const a = h("a", {
      download: `transcript-${safeName}-${row.conversation.id.slice(-8)}.txt`,
      class: "visually-hidden",
    });
    a.href = url; // a blob: URL made here, not data (h only takes http(s) links)
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    p.onInfo("Transcript downloaded.");
  } catch (e) {
    p.onError(e instanceof Error ? e.message : String(e));
  }
}
