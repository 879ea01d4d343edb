// @ts-check
// Rows as the server sends them, for the unit tests.

/** @typedef {import("../inbox/types.js").InboxRow} InboxRow */

/**
 * @param {string} id @param {Partial<InboxRow["conversation"]>} conv @param {Partial<InboxRow>} [extra]
 * @returns {InboxRow}
 */
export function row(id, conv = {}, extra = {}) {
  return {
    conversation: {
      id,
      chatflow_id: 2,
      visitor_id: "v-" + id,
      status: "open",
      channel: "mobile_chat",
      created_at: 1000,
      last_seq: 0,
      agent_read_seq: 0,
      visitor_read_seq: 0,
      ...conv,
    },
    visitor_typing: false,
    contact_name: "Contact " + id,
    title: "(no messages yet)",
    opened_at: 1000 + id.length,
    channel_label: "Chat",
    handled_by: "agents",
    blocked: false,
    spam: false,
    contact_unlinked: false,
    ...extra,
  };
}
