// @ts-check
// Canned responses: placeholder expansion (never a raw placeholder in sent text), the `/word` trigger, matching.
import { test } from "node:test";
import assert from "node:assert/strict";
import { expandPlaceholders, insertAt, matchCanned, placeholderValues, slashQuery } from "../inbox/canned.js";
import { row } from "./fixtures.js";

test("placeholders expand; unknown or empty values become empty strings", () => {
  const values = { visitor_name: "Jane Doe", visitor_first_name: "Jane", visitor_email: "", agent_name: "Alice" };
  assert.equal(expandPlaceholders("Hi {visitor_first_name}, {agent_name} here.", values), "Hi Jane, Alice here.");
  assert.equal(expandPlaceholders("Mail: {visitor_email}.", values), "Mail: .");
  assert.equal(expandPlaceholders("{unknown}{visitor_name}", values), "Jane Doe");
  assert.equal(expandPlaceholders("{constructor}{__proto__}", values), "", "object keys are not placeholders");
  assert.equal(expandPlaceholders("{visitor_name}", {}), "");
  assert.equal(expandPlaceholders("braces {} and {Upper} stay", values), "braces {} and {Upper} stay");
  assert.equal(expandPlaceholders("{{visitor_name}}", values), "{Jane Doe}");
  assert.equal(
    expandPlaceholders("{visitor_name}", { visitor_name: "{agent_name}", agent_name: "X" }),
    "{agent_name}",
    "a value is inserted as is, not expanded again",
  );
});

test("the slash query is the /word before the caret, at a line start or after a space", () => {
  assert.deepEqual(slashQuery("/", 1), { query: "", start: 0 });
  assert.deepEqual(slashQuery("Hello /thx", 10), { query: "thx", start: 6 });
  assert.deepEqual(slashQuery("line\n/ref", 9), { query: "ref", start: 5 });
  assert.equal(slashQuery("http://x", 8), null, "a slash inside a word is text");
  assert.equal(slashQuery("/thx now", 8), null, "after a space the menu is gone");
  assert.deepEqual(slashQuery("/thx now", 4), { query: "thx", start: 0 }, "the caret decides");
});

test("matching puts shortcut prefixes first, then other matches", () => {
  const all = [
    { id: "1", shortcut: "bye", title: "Goodbye", text: "", updated_at: 0 },
    { id: "2", shortcut: "refund", title: "Refund policy", text: "", updated_at: 0 },
    { id: "3", shortcut: "thx", title: "Thanks for the refund request", text: "", updated_at: 0 },
  ];
  assert.deepEqual(
    matchCanned(all, "ref").map((c) => c.id),
    ["2", "3"],
  );
  assert.deepEqual(
    matchCanned(all, "").map((c) => c.id),
    ["1", "2", "3"],
  );
  assert.deepEqual(matchCanned(all, "zzz"), []);
});

test("insertion replaces the /query and puts the caret after the text", () => {
  assert.deepEqual(insertAt("Hi /th there", 3, 6, "Thanks!"), { text: "Hi Thanks! there", caret: 10 });
});

test("placeholder values: a real name only; the email or 'Visitor #' fallbacks greet nobody", () => {
  assert.deepEqual(placeholderValues(row("a", {}, { contact_name: "Jane  Doe", contact_email: "j@x.io" }), "Alice"), {
    visitor_name: "Jane  Doe",
    visitor_first_name: "Jane",
    visitor_email: "j@x.io",
    agent_name: "Alice",
  });
  const byEmail = placeholderValues(row("a", {}, { contact_name: "j@x.io", contact_email: "j@x.io" }), "Alice");
  assert.equal(byEmail.visitor_name, "");
  assert.equal(byEmail.visitor_email, "j@x.io");
  const anonymous = placeholderValues(row("a", {}, { contact_name: "Visitor #1a2b3c4d" }), "Alice");
  assert.equal(expandPlaceholders("Hi {visitor_first_name}!", anonymous), "Hi !");
  const unlinked = placeholderValues(
    row("a", {}, { contact_name: "Jane", contact_email: "j@x.io", contact_unlinked: true }),
    "A",
  );
  assert.deepEqual([unlinked.visitor_name, unlinked.visitor_email], ["", ""]);
});
