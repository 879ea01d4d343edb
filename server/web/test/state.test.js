// @ts-check
// The store's reducer against feed event sequences: a replay from any earlier cursor (duplicates included) ends in
// the same state, each message and note is held once, resync asks for a reload, views keep the right rows.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as S from "../inbox/state.js";
import { row } from "./fixtures.js";

/** @typedef {import("../inbox/types.js").FeedEvent} FeedEvent */
/** @typedef {import("../inbox/types.js").InboxRow} InboxRow */

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function rng(/** @type {number} */ seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * What a server would send: messages (each followed by the changed row), assignment and status changes, notes.
 * @param {number} seed @param {number} count
 */
function serverEvents(seed, count) {
  const random = rng(seed);
  const ids = ["c1", "c2", "c3", "c4"];
  /** @type {Record<string, InboxRow>} */
  const rows = Object.fromEntries(ids.map((id, i) => [id, { ...row(id), opened_at: 1000 + i * 10 }]));
  /** @type {FeedEvent[]} */
  const events = [];
  let n = 0;
  let notes = 0;
  const cursor = () => `cur-${(++n).toString(36)}`;
  const pick = () => ids[Math.floor(random() * ids.length)];
  while (events.length < count) {
    const id = pick();
    const r = rows[id];
    const roll = random();
    if (roll < 0.4) {
      const seq = r.conversation.last_seq + 1;
      const kind = random() < 0.6 ? "visitor" : "agent";
      events.push({
        type: "message",
        cursor: cursor(),
        message: {
          conversation_id: id,
          seq,
          author: { kind },
          body: `m${seq}`,
          created_at: 2000 + n,
        },
      });
      rows[id] = { ...r, conversation: { ...r.conversation, last_seq: seq }, preview: `m${seq}`, title: `m${seq}` };
      events.push({ type: "conversation", cursor: cursor(), row: rows[id] });
    } else if (roll < 0.6) {
      const who = ["ag_alice", "ag_bob", undefined][Math.floor(random() * 3)];
      const conversation = { ...r.conversation };
      if (who) conversation.assignee = { id: who, display_name: who };
      else delete conversation.assignee;
      rows[id] = { ...r, conversation };
      events.push({ type: "conversation", cursor: cursor(), row: rows[id] });
    } else if (roll < 0.75) {
      rows[id] = { ...r, conversation: { ...r.conversation, agent_read_seq: r.conversation.last_seq } };
      events.push({ type: "conversation", cursor: cursor(), row: rows[id] });
    } else if (roll < 0.85) {
      rows[id] = {
        ...r,
        blocked: !r.blocked,
        conversation: { ...r.conversation, status: random() < 0.5 ? "open" : "closed" },
      };
      events.push({ type: "conversation", cursor: cursor(), row: rows[id] });
    } else {
      events.push({
        type: "note",
        cursor: cursor(),
        note: {
          id: `n${++notes}`,
          conversation_id: id,
          after_seq: r.conversation.last_seq,
          author: { kind: "agent", id: "ag_alice" },
          body: "note",
          created_at: 3000 + n,
        },
      });
    }
  }
  return events;
}

/** A page with c1 and c2 open and loaded, listing the "all" view without a status filter. */
function loaded() {
  let s = { ...S.initialState(), me: /** @type {any} */ ({ id: "ag_alice" }) };
  s = S.chooseView(s, "all", { ...S.emptyFilters(), status: "" });
  s = S.loadList(s, [], undefined, false);
  s = S.loadMessages(s, "c1", [], false, false);
  s = S.loadMessages(s, "c2", [], false, false);
  s = S.loadNotes(s, "c1", []);
  s = S.loadNotes(s, "c2", []);
  return S.openConversation(s, "c1");
}

/** @param {S.State} s @param {FeedEvent[]} events */
const applyAll = (s, events) => events.reduce((acc, e) => S.apply(acc, e, 50_000), s);

test("replaying from any earlier cursor ends in the same state", () => {
  for (let seed = 1; seed <= 60; seed++) {
    const events = serverEvents(seed, 80);
    const once = applyAll(loaded(), events);
    const random = rng(seed * 7919);
    for (let trial = 0; trial < 5; trial++) {
      const k = 1 + Math.floor(random() * events.length);
      const j = Math.floor(random() * k);
      // Disconnected after event k; the resume starts again after event j (j..k-1 arrive twice).
      const replayed = applyAll(applyAll(loaded(), events.slice(0, k)), events.slice(j));
      assert.deepEqual(replayed, once, `seed ${seed}: k=${k}, resumed after ${j}`);
    }
    assert.equal(once.cursor, /** @type {any} */ (events[events.length - 1]).cursor);
  }
});

test("duplicate events are ignored: each message and note once, in order", () => {
  for (let seed = 100; seed < 120; seed++) {
    const events = serverEvents(seed, 60);
    const once = applyAll(loaded(), events);
    const twice = applyAll(
      loaded(),
      events.flatMap((e) => [e, e]),
    );
    assert.deepEqual(twice, once);
    for (const id of ["c1", "c2"]) {
      const seqs = once.messages[id].map((m) => m.seq);
      assert.deepEqual(
        seqs,
        [...Array(seqs.length).keys()].map((i) => i + 1),
        "seqs 1..n, each once",
      );
      const noteIds = once.notes[id].map((n) => n.id);
      assert.equal(new Set(noteIds).size, noteIds.length);
    }
    assert.equal(once.messages.c3, undefined, "messages of conversations not open are not held");
  }
});

test("the list holds exactly the rows of the view after any sequence", () => {
  for (let seed = 200; seed < 230; seed++) {
    const events = serverEvents(seed, 70);
    const s = applyAll(loaded(), events);
    for (const [id, r] of Object.entries(s.rows)) {
      const expected = S.matchesView(r, "all", s.filters, "ag_alice") || (id === s.openId && s.listIds.includes(id));
      assert.equal(s.listIds.includes(id), expected, `seed ${seed}: ${id} in list`);
    }
    const sorted = [...s.listIds].sort((a, b) => S.compareRows(s.rows[a], s.rows[b]));
    assert.deepEqual(s.listIds, sorted, "newest first");
  }
});

test("resync forgets the cursor and asks for a reload; a fresh list clears it", () => {
  let s = applyAll(loaded(), serverEvents(5, 10));
  assert.notEqual(s.cursor, null);
  s = S.apply(s, { type: "resync" }, 0);
  assert.equal(s.cursor, null);
  assert.equal(s.needsReload, true);
  s = S.apply(s, { type: "ready", cursor: "fresh" }, 0);
  assert.equal(s.cursor, "fresh");
  s = S.loadList(s, [row("c9")], "next", false);
  assert.equal(s.needsReload, false);
  assert.deepEqual(s.listIds, ["c9"]);
  assert.equal(s.nextCursor, "next");
});

test("an older copy of a row does not replace a newer one", () => {
  let s = loaded();
  s = S.apply(s, { type: "conversation", cursor: "a", row: row("c1", { last_seq: 5 }, { preview: "five" }) }, 0);
  s = S.apply(s, { type: "conversation", cursor: "b", row: row("c1", { last_seq: 3 }, { preview: "three" }) }, 0);
  assert.equal(s.rows.c1.preview, "five");
});

test("views: all, mine, unassigned, bots, filtered, and the filters", () => {
  /** @type {import("../inbox/types.js").Filters} */
  const f = { ...S.emptyFilters(), status: "" };
  const mine = row("a", { assignee: { id: "me", display_name: "Me" } });
  const free = row("b");
  const bot = row("c", {}, { handled_by: "bot" });
  const blocked = row("d", {}, { blocked: true });
  const spam = row("e", { assignee: { id: "me", display_name: "Me" } }, { spam: true });
  const all = [mine, free, bot, blocked, spam];
  const ids = (/** @type {import("../inbox/types.js").ViewName} */ v, filters = f) =>
    all.filter((r) => S.matchesView(r, v, filters, "me")).map((r) => r.conversation.id);
  assert.deepEqual(ids("all"), ["a", "b"]);
  assert.deepEqual(ids("mine"), ["a"]);
  assert.deepEqual(ids("unassigned"), ["b"]);
  assert.deepEqual(ids("bots"), ["c"]);
  assert.deepEqual(ids("filtered"), ["d", "e"]);
  assert.deepEqual(ids("all", { ...f, status: "closed" }), []);
  assert.deepEqual(ids("all", { ...f, assignee: "me" }), ["a"]);
  assert.deepEqual(ids("all", { ...f, q: "contact b" }), ["b"]);
  assert.deepEqual(ids("all", { ...f, channel: "email" }), []);
});

test("typing expires after 6 s; a visitor message ends it", () => {
  let s = loaded();
  s = S.apply(s, { type: "typing", conversation_id: "c1", typing: true }, 1000);
  assert.equal(S.isTyping(s, "c1", 6999), true);
  assert.equal(S.isTyping(s, "c1", 7000), false);
  s = S.apply(
    s,
    {
      type: "message",
      cursor: "x",
      message: { conversation_id: "c1", seq: 1, author: { kind: "visitor" }, body: "hi", created_at: 1 },
    },
    1500,
  );
  assert.equal(S.isTyping(s, "c1", 2000), false);
});

test("presence changes the agent and, for oneself, the topbar", () => {
  let s = loaded();
  s = { ...s, agents: { ag_alice: { id: "ag_alice", display_name: "Alice", available: true, team_ids: [] } } };
  s = S.apply(s, { type: "presence", agent_id: "ag_alice", available: false }, 0);
  assert.equal(s.agents.ag_alice.available, false);
  assert.equal(/** @type {any} */ (s.me).available, false);
});

test("notes follow the message they were written after", () => {
  const m = (/** @type {number} */ seq) => ({
    conversation_id: "c",
    seq,
    author: { kind: /** @type {const} */ ("visitor") },
    body: "",
    created_at: seq,
  });
  const n = (/** @type {string} */ id, /** @type {number} */ after, /** @type {number} */ at) => ({
    id,
    conversation_id: "c",
    after_seq: after,
    author: { kind: /** @type {const} */ ("agent") },
    body: "",
    created_at: at,
  });
  const notes = S.mergeNotes([], [n("late", 2, 9), n("early", 2, 5), n("first", 0, 1)]);
  const order = S.timeline([m(1), m(2), m(3)], notes).map((x) =>
    x.kind === "message" ? `m${x.message.seq}` : x.note.id,
  );
  assert.deepEqual(order, ["first", "m1", "m2", "early", "late", "m3"]);
  // With only later history loaded, a note about earlier messages waits for "load earlier".
  const partial = S.timeline([m(5), m(6)], S.mergeNotes([], [n("old", 1, 1), n("here", 5, 2)]));
  assert.deepEqual(
    partial.map((x) => (x.kind === "message" ? `m${x.message.seq}` : x.note.id)),
    ["m5", "here", "m6"],
  );
});

test("an action's answer moves rows between views, except the open one", () => {
  let s = S.loadList({ ...loaded(), openId: null }, [row("a"), row("b")], undefined, false);
  s = S.putRow(s, row("a", {}, { blocked: true }));
  assert.deepEqual(s.listIds, ["b"], "a blocked sender leaves All");
  s = S.openConversation(s, "b");
  s = S.putRow(s, row("b", {}, { spam: true }));
  assert.deepEqual(s.listIds, ["b"], "the open one stays until the agent leaves it");
  assert.equal(s.rows.b.spam, true);
});

test("a message with files only reads '📎 name' in the list, even after the server's copy of the row", () => {
  let s = S.apply(
    S.initialState(),
    { type: "conversation", cursor: "a", row: row("c1", { last_seq: 1 }, { preview: "Hi", title: "Hi" }) },
    0,
  );
  const file = { id: "att_1", file_name: "screen.png", mime_type: "image/png", size: 10, sha256: "0".repeat(64) };
  const message = {
    conversation_id: "c1",
    seq: 2,
    author: { kind: /** @type {const} */ ("visitor") },
    body: "",
    created_at: 5,
    attachments: [file],
  };
  s = S.apply(s, { type: "message", cursor: "b", message }, 0);
  assert.equal(s.rows.c1.title, "📎 screen.png");
  s = S.apply(s, { type: "conversation", cursor: "c", row: row("c1", { last_seq: 2 }, { preview: "", title: "" }) }, 0);
  assert.equal(s.rows.c1.title, "📎 screen.png", "the server's empty line does not erase it");
  s = S.apply(
    s,
    { type: "conversation", cursor: "d", row: row("c1", { last_seq: 3 }, { preview: "Thanks", title: "Thanks" }) },
    0,
  );
  assert.equal(s.rows.c1.title, "Thanks");
  const ticket = S.apply(
    S.initialState(),
    { type: "conversation", cursor: "a", row: row("t", { last_seq: 1 }, { preview: "Hi", title: "Refund #12" }) },
    0,
  );
  const after = S.apply(ticket, { type: "message", cursor: "b", message: { ...message, conversation_id: "t" } }, 0);
  assert.equal(after.rows.t.title, "Refund #12", "a ticket's subject stays the title");
});
