// @ts-check
// What deserves a desktop notification, and the title badge.
import { test } from "node:test";
import assert from "node:assert/strict";
import { notificationFor, titleFor } from "../inbox/notify.js";
import * as S from "../inbox/state.js";
import { row } from "./fixtures.js";

const me = /** @type {import("../inbox/types.js").AgentMe} */ ({ id: "me", display_name: "Me" });
/** @param {number} seq @param {"visitor" | "agent"} kind */
const msg = (seq, kind = "visitor") => ({
  type: /** @type {const} */ ("message"),
  cursor: "c" + seq,
  message: { conversation_id: "a", seq, author: { kind }, body: "hello <b>", created_at: 1 },
});

test("new conversations the agent works on notify; bots, filtered and others' do not", () => {
  const s = { ...S.initialState(), me };
  const event = (/** @type {import("../inbox/types.js").InboxRow} */ r) => ({
    type: /** @type {const} */ ("conversation"),
    cursor: "x",
    row: r,
  });
  assert.deepEqual(notificationFor(s, event(row("n", {}, { preview: "Hi" })), true), {
    title: "New conversation: Contact n",
    body: "Hi",
    tag: "n",
  });
  assert.equal(notificationFor(s, event(row("n", {}, { handled_by: "bot" })), true), null);
  assert.equal(notificationFor(s, event(row("n", {}, { spam: true })), true), null);
  assert.equal(notificationFor(s, event(row("n", { assignee: { id: "bob", display_name: "Bob" } })), true), null);
  const known = S.loadList(s, [row("n")], undefined, false);
  assert.equal(notificationFor(known, event(row("n")), true), null, "a change to a known row is not new");
  assert.equal(
    notificationFor(s, event(row("old", { last_seq: 7 })), true),
    null,
    "a conversation outside the loaded list that changes is not new",
  );
});

test("visitor messages notify unless the agent is looking at that conversation", () => {
  let s = S.loadList({ ...S.initialState(), me }, [row("a")], undefined, false);
  assert.equal(notificationFor(s, msg(1), true)?.body, "hello <b>");
  assert.equal(notificationFor(s, msg(1, "agent"), false), null);
  s = S.loadMessages(S.openConversation(s, "a"), "a", [], false, false);
  assert.equal(notificationFor(s, msg(1), true), null, "open and visible");
  assert.notEqual(notificationFor(s, msg(1), false), null, "open but the tab is hidden");
  s = S.apply(s, msg(1), 0);
  assert.equal(notificationFor(s, msg(1), false), null, "a duplicate");
});

test("the title shows the unread count first", () => {
  assert.equal(titleFor(0, "Acme"), "Inbox · Acme");
  assert.equal(titleFor(3, "Acme"), "(3) Inbox · Acme");
  assert.equal(titleFor(150, ""), "(99+) Inbox");
});
