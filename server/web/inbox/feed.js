// @ts-check
// The live feed: one WebSocket, resumed with the last cursor seen, reconnected with exponential backoff and full
// jitter; `resync` tells the page to reload, then the feed starts again without a cursor.

/** @typedef {import("./types.js").FeedEvent} FeedEvent */

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 30_000;

/** Full jitter: a random delay in [0, min(max, base·2^attempt)). */
export function backoffDelay(/** @type {number} */ attempt, /** @type {() => number} */ random) {
  return Math.floor(random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt));
}

/** The feed's URL on this origin, with `after` when resuming. */
export function feedUrl(/** @type {{protocol: string, host: string}} */ location, /** @type {string | null} */ after) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/v1/agent/feed${after ? `?after=${encodeURIComponent(after)}` : ""}`;
}

/** Parses a frame; anything that is not a known event is dropped (a newer server may add types). */
export function parseEvent(/** @type {string} */ data) {
  try {
    const event = JSON.parse(data);
    const known = ["ready", "conversation", "message", "note", "typing", "presence", "resync"];
    return event && typeof event === "object" && known.includes(event.type) ? /** @type {FeedEvent} */ (event) : null;
  } catch {
    return null;
  }
}

/**
 * @typedef {"connecting" | "live" | "offline"} FeedStatus
 * @param {{
 *   url: (after: string | null) => string,
 *   onEvent: (event: FeedEvent) => void,
 *   onStatus: (status: FeedStatus) => void,
 *   WebSocket?: typeof WebSocket,
 *   random?: () => number,
 * }} options
 */
export function createFeed(options) {
  const Socket = options.WebSocket ?? WebSocket;
  const random = options.random ?? Math.random;
  /** @type {string | null} */
  let cursor = null;
  let attempt = 0;
  /** @type {WebSocket | null} */
  let socket = null;
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  let stopped = true;

  function connect() {
    timer = null;
    if (stopped) return;
    options.onStatus("connecting");
    const ws = new Socket(options.url(cursor));
    socket = ws;
    ws.addEventListener("message", (e) => {
      if (socket !== ws || typeof e.data !== "string") return;
      const event = parseEvent(e.data);
      if (!event) return;
      if (event.type === "ready") {
        attempt = 0;
        options.onStatus("live");
      }
      if (event.type === "resync") {
        // The cursor is too old: the page reloads; the next connection starts from now. The server did answer,
        // so the backoff starts over.
        cursor = null;
        attempt = 0;
        options.onEvent(event);
        ws.close();
        return;
      }
      if ("cursor" in event) cursor = event.cursor;
      options.onEvent(event);
    });
    ws.addEventListener("close", () => {
      if (socket !== ws) return;
      socket = null;
      if (stopped) return;
      options.onStatus("offline");
      timer = setTimeout(connect, backoffDelay(attempt++, random));
    });
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      connect();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      const ws = socket;
      socket = null;
      ws?.close();
    },
    /** Forget the cursor (after a resync or a reload): the next connection starts from now. */
    forgetCursor() {
      cursor = null;
    },
    get cursor() {
      return cursor;
    },
  };
}
