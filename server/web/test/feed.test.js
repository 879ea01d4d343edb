// @ts-check
// The feed's connection logic with a stand-in for the browser's WebSocket class: resume with the last cursor, no
// cursor after a resync, backoff with jitter that grows and is capped, reset once connected.
import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, backoffDelay, createFeed, feedUrl, parseEvent } from "../inbox/feed.js";

class FakeSocket extends EventTarget {
  /** @type {FakeSocket[]} */
  static made = [];
  constructor(/** @type {string} */ url) {
    super();
    this.url = url;
    FakeSocket.made.push(this);
  }
  /** @param {object} event */
  receive(event) {
    this.dispatchEvent(Object.assign(new Event("message"), { data: JSON.stringify(event) }));
  }
  close() {
    this.dispatchEvent(new Event("close"));
  }
}

test("backoff: full jitter under an exponential cap", () => {
  assert.equal(
    backoffDelay(0, () => 1 - 1e-9),
    BACKOFF_BASE_MS - 1,
  );
  assert.equal(
    backoffDelay(3, () => 0.5),
    BACKOFF_BASE_MS * 4,
  );
  assert.equal(
    backoffDelay(30, () => 1 - 1e-9),
    BACKOFF_MAX_MS - 1,
  );
  assert.equal(
    backoffDelay(5, () => 0),
    0,
  );
});

test("the URL resumes after a cursor, on the page's origin", () => {
  assert.equal(feedUrl({ protocol: "https:", host: "x.example" }, null), "wss://x.example/v1/agent/feed");
  assert.equal(
    feedUrl({ protocol: "http:", host: "127.0.0.1:9" }, "a/b+c"),
    "ws://127.0.0.1:9/v1/agent/feed?after=a%2Fb%2Bc",
  );
});

test("unknown or malformed frames are dropped", () => {
  assert.equal(parseEvent("not json"), null);
  assert.equal(parseEvent('{"type":"future"}'), null);
  assert.deepEqual(parseEvent('{"type":"ready","cursor":"c"}'), { type: "ready", cursor: "c" });
});

test("reconnects with the last cursor, starts over after resync, and resets the backoff when ready", () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    FakeSocket.made = [];
    /** @type {unknown[]} */
    const events = [];
    /** @type {string[]} */
    const statuses = [];
    const feed = createFeed({
      url: (after) => feedUrl({ protocol: "http:", host: "h" }, after),
      onEvent: (e) => events.push(e),
      onStatus: (s) => statuses.push(s),
      WebSocket: /** @type {any} */ (FakeSocket),
      random: () => 0.5,
    });
    feed.start();
    const first = FakeSocket.made[0];
    assert.equal(first.url, "ws://h/v1/agent/feed");
    first.receive({ type: "ready", cursor: "c1" });
    first.receive({ type: "message", cursor: "c2", message: {} });
    first.receive({ type: "typing", conversation_id: "x", typing: true });
    assert.equal(feed.cursor, "c2", "typing frames carry no cursor");
    first.close();
    assert.equal(FakeSocket.made.length, 1, "waits before reconnecting");
    mock.timers.tick(BACKOFF_BASE_MS / 2);
    const second = FakeSocket.made[1];
    assert.equal(second.url, "ws://h/v1/agent/feed?after=c2");
    second.close(); // fails again before ready: the next wait is longer
    mock.timers.tick(BACKOFF_BASE_MS / 2);
    assert.equal(FakeSocket.made.length, 2);
    mock.timers.tick(BACKOFF_BASE_MS / 2);
    const third = FakeSocket.made[2];
    assert.equal(third.url, "ws://h/v1/agent/feed?after=c2");
    third.receive({ type: "resync" });
    mock.timers.tick(BACKOFF_BASE_MS / 2);
    const fourth = FakeSocket.made[3];
    assert.equal(fourth.url, "ws://h/v1/agent/feed", "after a resync: from now, no cursor");
    fourth.receive({ type: "ready", cursor: "c9" });
    assert.deepEqual(
      events.map((e) => /** @type {any} */ (e).type),
      ["ready", "message", "typing", "resync", "ready"],
    );
    assert.deepEqual(statuses, [
      "connecting",
      "live",
      "offline",
      "connecting",
      "offline",
      "connecting",
      "offline",
      "connecting",
      "live",
    ]);
    feed.stop();
    mock.timers.tick(BACKOFF_MAX_MS);
    assert.equal(FakeSocket.made.length, 4, "stopped: no reconnection");
  } finally {
    mock.timers.reset();
  }
});
