// @ts-check
// The REST client: same origin, the session cookie, `X-CSRF-Token` on every write, and refusals as ApiError with the
// server's code and message (a message written for a person, shown as text).

/**
 * @typedef {import("./types.js").Session} Session
 * @typedef {import("./types.js").ConversationList} ConversationList
 * @typedef {import("./types.js").InboxRow} InboxRow
 * @typedef {import("./types.js").MessagePage} MessagePage
 * @typedef {import("./types.js").Message} Message
 * @typedef {import("./types.js").Note} Note
 * @typedef {import("./types.js").CannedResponse} CannedResponse
 * @typedef {import("./types.js").VisitorContext} VisitorContext
 * @typedef {import("./types.js").KbHit} KbHit
 * @typedef {import("./types.js").Counts} Counts
 * @typedef {import("./types.js").Agent} Agent
 * @typedef {import("./types.js").Ticket} Ticket
 * @typedef {import("./types.js").ViewName} ViewName
 * @typedef {import("./types.js").Filters} Filters
 * @typedef {import("./types.js").AttachmentLimits} AttachmentLimits
 * @typedef {import("./types.js").UploadRequest} UploadRequest
 * @typedef {import("./types.js").UploadStatus} UploadStatus
 */

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0: the network failed)
   * @param {string} code the server's error code
   * @param {string} message for a person
   * @param {number | null} retryAfter seconds, from `Retry-After`
   */
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** Turns a failed response into an ApiError, whatever its body. */
export async function errorFrom(/** @type {Response} */ res) {
  const retry = Number(res.headers.get("Retry-After"));
  const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : null;
  try {
    const body = await res.json();
    if (body && typeof body.code === "string" && typeof body.message === "string") {
      return new ApiError(res.status, body.code, body.message, retryAfter);
    }
  } catch {
    // Not JSON (a proxy's page): fall through to a generic message.
  }
  return new ApiError(
    res.status,
    "http_" + res.status,
    `The server answered ${res.status} ${res.statusText}.`,
    retryAfter,
  );
}

/** The list's query string for a view and filters (empty filters are left out; dates become Unix ms). */
export function listQuery(/** @type {ViewName} */ view, /** @type {Filters} */ f, /** @type {string | null} */ cursor) {
  const p = new URLSearchParams({ view });
  if (f.status) p.set("status", f.status);
  if (f.assignee) p.set("assignee", f.assignee);
  if (f.channel) p.set("channel", f.channel);
  const from = dateMs(f.from);
  if (from !== null) p.set("from", String(from));
  const to = dateMs(f.to);
  if (to !== null) p.set("to", String(to + 86_400_000)); // the "to" day is included
  if (f.q.trim()) p.set("q", f.q.trim().slice(0, 200));
  if (cursor) p.set("cursor", cursor);
  p.set("limit", "50");
  return p.toString();
}

function dateMs(/** @type {string} */ value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).getTime() : null;
}

/**
 * @param {{fetch?: typeof fetch, onUnauthorized?: () => void}} [options]
 */
export function createApi(options = {}) {
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  let csrf = "";

  /**
   * @template T
   * @param {string} method @param {string} path @param {unknown} [body]
   * @param {{body: Blob, headers: Record<string, string>}} [raw] bytes sent as they are (an upload's chunk)
   * @returns {Promise<T>}
   */
  async function request(method, path, body, raw) {
    /** @type {Record<string, string>} */
    const headers = { Accept: "application/json", ...raw?.headers };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && method !== "HEAD" && csrf) headers["X-CSRF-Token"] = csrf;
    let res;
    try {
      res = await doFetch(path, {
        method,
        headers,
        credentials: "same-origin",
        body: raw ? raw.body : body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, "network", "The server cannot be reached. Check the connection and try again.");
    }
    if (!res.ok) {
      const error = await errorFrom(res);
      if (res.status === 401 && path !== "/v1/agent/login" && options.onUnauthorized) options.onUnauthorized();
      throw error;
    }
    if (res.status === 204) return /** @type {T} */ (undefined);
    const type = res.headers.get("Content-Type") ?? "";
    return /** @type {T} */ (type.includes("json") ? await res.json() : await res.text());
  }

  const c = (/** @type {string} */ id) => `/v1/agent/conversations/${encodeURIComponent(id)}`;

  return {
    setCsrf(/** @type {string} */ token) {
      csrf = token;
    },
    /** @returns {Promise<Session>} */
    me: () => request("GET", "/v1/agent/me"),
    /** @returns {Promise<Session>} */
    login: (/** @type {string} */ email, /** @type {string} */ password) =>
      request("POST", "/v1/agent/login", { email, password }),
    /** @returns {Promise<void>} */
    logout: () => request("POST", "/v1/agent/logout"),
    /** @returns {Promise<ConversationList>} */
    list: (/** @type {ViewName} */ view, /** @type {Filters} */ f, /** @type {string | null} */ cursor) =>
      request("GET", `/v1/agent/conversations?${listQuery(view, f, cursor)}`),
    /** @returns {Promise<Counts>} */
    counts: () => request("GET", "/v1/agent/conversations/counts"),
    /** @returns {Promise<InboxRow>} */
    row: (/** @type {string} */ id) => request("GET", c(id)),
    /** @returns {Promise<MessagePage>} */
    messages: (/** @type {string} */ id, /** @type {number | null} */ beforeSeq) =>
      request("GET", `${c(id)}/messages?limit=50${beforeSeq ? `&before_seq=${beforeSeq}` : ""}`),
    /** @returns {Promise<void>} */
    read: (/** @type {string} */ id, /** @type {number} */ seq) => request("POST", `${c(id)}/read`, { seq }),
    /** @returns {Promise<Message>} */
    reply: (
      /** @type {string} */ id,
      /** @type {string} */ body,
      /** @type {string} */ clientMessageId,
      /** @type {string[]} */ attachments = [],
    ) =>
      request("POST", `${c(id)}/messages`, {
        body,
        client_message_id: clientMessageId,
        ...(attachments.length ? { attachments } : {}),
      }),
    /** @returns {Promise<void>} */
    typing: (/** @type {string} */ id, /** @type {boolean} */ typing) => request("POST", `${c(id)}/typing`, { typing }),
    /** @returns {Promise<{notes: Note[]}>} */
    notes: (/** @type {string} */ id) => request("GET", `${c(id)}/notes`),
    /** @returns {Promise<Note>} */
    addNote: (/** @type {string} */ id, /** @type {string} */ body, /** @type {string} */ clientMessageId) =>
      request("POST", `${c(id)}/notes`, { body, client_message_id: clientMessageId }),
    /** @returns {Promise<InboxRow>} */
    assign: (/** @type {string} */ id, /** @type {{agent_id: string | null} | {team_id: string}} */ to) =>
      request("POST", `${c(id)}/assign`, to),
    /** @returns {Promise<InboxRow>} */
    action: (
      /** @type {string} */ id,
      /** @type {"close" | "reopen" | "take-over" | "block" | "spam" | "unlink-contact"} */ name,
      /** @type {"POST" | "DELETE"} */ method = "POST",
    ) => request(method, `${c(id)}/${name}`),
    /** @returns {Promise<Ticket>} */
    createTicket: (/** @type {string} */ id) => request("POST", `${c(id)}/ticket`),
    /** @returns {Promise<string>} */
    transcriptText: (/** @type {string} */ id) => request("GET", `${c(id)}/transcript.txt`),
    /** @returns {Promise<{email_id: number, state: string, to: string[]}>} */
    emailTranscript: (/** @type {string} */ id, /** @type {string[]} */ to) =>
      request("POST", `${c(id)}/transcript/email`, { to }),
    /** @returns {Promise<VisitorContext>} */
    visitor: (/** @type {string} */ id) => request("GET", `${c(id)}/visitor`),
    /** @returns {Promise<{canned_responses: CannedResponse[]}>} */
    canned: () => request("GET", "/v1/agent/canned-responses"),
    /** @returns {Promise<{hits: KbHit[]}>} */
    kbSearch: (/** @type {string} */ q) =>
      request("GET", `/v1/agent/kb/search?${new URLSearchParams({ q, limit: "5" })}`),
    /** @returns {Promise<{agents: Agent[]}>} */
    agents: () => request("GET", "/v1/agent/agents"),
    /** The app's attachment limits (the chatflow list is public; older servers send none). */
    attachmentLimits: async (/** @type {string} */ appId) => {
      /** @type {{attachment_limits?: AttachmentLimits}} */
      const list = await request("GET", `/v1/apps/${encodeURIComponent(appId)}/chatflows`);
      return list.attachment_limits ?? null;
    },
    /** @returns {Promise<UploadStatus>} */
    declareUpload: (/** @type {UploadRequest} */ req) => request("POST", "/v1/agent/uploads", req),
    /** @returns {Promise<UploadStatus>} */
    uploadStatus: (/** @type {string} */ id) => request("GET", `/v1/agent/uploads/${encodeURIComponent(id)}`),
    /** @returns {Promise<UploadStatus>} */
    patchUpload: (/** @type {string} */ id, /** @type {number} */ offset, /** @type {Blob} */ bytes) =>
      request("PATCH", `/v1/agent/uploads/${encodeURIComponent(id)}`, undefined, {
        body: bytes,
        headers: { "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" },
      }),
    /** @returns {Promise<{available: boolean}>} */
    presence: (/** @type {boolean} */ available) => request("PUT", "/v1/agent/presence", { available }),
  };
}

/** @typedef {ReturnType<typeof createApi>} Api */
