// @ts-check
// The composer: Enter sends, Shift+Enter starts a new line; Reply or internal Note mode; `/` opens the canned
// responses (arrows + Enter pick, Esc closes) with placeholders expanded; a knowledge-base article link found by
// search; typing signals to the visitor (replies only, at most one every 3 s, "stopped" after 4 s idle).

import { h, replace, safeUrl } from "./dom.js";
import { expandPlaceholders, insertAt, matchCanned, placeholderValues, slashQuery } from "./canned.js";
import { mountPending } from "./pending.js";
import { ApiError } from "./api.js";

/**
 * @typedef {import("./api.js").Api} Api
 * @typedef {import("./types.js").InboxRow} InboxRow
 * @typedef {import("./types.js").CannedResponse} CannedResponse
 * @typedef {import("./types.js").Message} Message
 * @typedef {import("./types.js").Note} Note
 * @typedef {import("./types.js").KbHit} KbHit
 * @typedef {import("./types.js").AttachmentLimits} AttachmentLimits
 */

const TYPING_EVERY_MS = 3000;
/** Unsent text per conversation and mode, kept while the agent looks at other conversations (this tab only). */
const drafts = new Map();
const TYPING_IDLE_MS = 4000;

/**
 * @param {Element} el
 * @param {{
 *   api: Api, row: () => InboxRow, agentName: string, canned: () => CannedResponse[], limits: () => AttachmentLimits,
 *   onSent: (m: Message) => void, onNote: (n: Note) => void, onError: (text: string) => void
 * }} props
 */
export function mountComposer(el, props) {
  const id = props.row().conversation.id;
  let mode = /** @type {"reply" | "note"} */ ("reply");
  let lastTypingSent = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let idleTimer;
  /** The client id of the text being sent: a retry of the same text is stored once. */
  let pending = { text: "", clientId: "" };
  let sending = false;

  const text = h("textarea", {
    id: "composer-text",
    rows: 3,
    maxlength: 4000,
    "aria-label": "Reply to the visitor",
    placeholder: "Reply… (Enter to send, Shift+Enter for a new line, / for canned responses)",
    "aria-autocomplete": "list",
    "aria-controls": "canned-menu",
  });
  const cannedMenu = h("ul", {
    id: "canned-menu",
    class: "popup",
    role: "listbox",
    "aria-label": "Canned responses",
    hidden: true,
  });
  const kbPanel = h("div", { class: "popup kb", hidden: true });
  const sendButton = h("button", { type: "submit", class: "btn primary" }, "Send");
  // Files for the reply: chosen with "Attach", dropped on the composer or pasted; uploaded when the agent sends.
  const fileInput = h("input", { type: "file", multiple: true, hidden: true, "aria-hidden": "true", tabindex: -1 });
  const pendingList = h("ul", { class: "pending-files", "aria-label": "Files to send", hidden: true });
  const files = mountPending(pendingList, { api: props.api, limits: props.limits, onError: props.onError });
  const attachButton = h(
    "button",
    { type: "button", class: "btn", title: "Attach files to the reply", on: { click: () => fileInput.click() } },
    "Attach",
  );
  fileInput.addEventListener("change", () => {
    if (fileInput.files) files.add(fileInput.files);
    fileInput.value = "";
    text.focus();
  });
  const replyTab = h(
    "button",
    { type: "button", class: "tab active", "aria-pressed": "true", on: { click: () => setMode("reply") } },
    "Reply",
  );
  const noteTab = h(
    "button",
    { type: "button", class: "tab", "aria-pressed": "false", on: { click: () => setMode("note") } },
    "Note",
  );
  const form = h(
    "form",
    { class: "composer-form", "aria-label": "Composer" },
    h(
      "div",
      { class: "composer-tabs" },
      replyTab,
      noteTab,
      h("span", { class: "composer-hint" }, "Notes are visible to your team only"),
    ),
    cannedMenu,
    kbPanel,
    pendingList,
    text,
    fileInput,
    h(
      "div",
      { class: "composer-bar" },
      h(
        "button",
        {
          type: "button",
          class: "btn",
          title: "Canned responses (type / in the text)",
          on: {
            click: () => {
              const at = text.selectionStart;
              const prefix = at > 0 && !/\s/.test(text.value[at - 1]) ? " /" : "/";
              const next = insertAt(text.value, at, at, prefix);
              text.value = next.text;
              text.setSelectionRange(next.caret, next.caret);
              text.focus();
              updateCanned();
            },
          },
        },
        "Canned responses",
      ),
      h(
        "button",
        {
          type: "button",
          class: "btn",
          "aria-expanded": "false",
          on: { click: (e) => toggleKb(/** @type {HTMLElement} */ (e.currentTarget)) },
        },
        "Insert article",
      ),
      attachButton,
      h("span", { class: "spacer" }),
      sendButton,
    ),
  );
  replace(el, form);
  el.classList.remove("note-mode");
  text.value = drafts.get(`${id}:reply`) ?? "";

  function setMode(/** @type {"reply" | "note"} */ next) {
    mode = next;
    replyTab.classList.toggle("active", mode === "reply");
    noteTab.classList.toggle("active", mode === "note");
    replyTab.setAttribute("aria-pressed", String(mode === "reply"));
    noteTab.setAttribute("aria-pressed", String(mode === "note"));
    el.classList.toggle("note-mode", mode === "note");
    text.setAttribute("aria-label", mode === "reply" ? "Reply to the visitor" : "Internal note for your team");
    sendButton.textContent = mode === "reply" ? "Send" : "Add note";
    text.placeholder =
      mode === "reply"
        ? "Reply… (Enter to send, Shift+Enter for a new line, / for canned responses)"
        : "Internal note… (never shown to the visitor)";
    if (mode === "note") stopTyping();
    attachButton.hidden = mode === "note"; // notes stay text: files go to the visitor with a reply
    text.value = drafts.get(`${id}:${mode}`) ?? "";
    text.focus();
  }

  // Canned responses: the menu follows the `/word` before the caret.
  let options = /** @type {CannedResponse[]} */ ([]);
  let active = 0;
  /** @type {{query: string, start: number} | null} */
  let slash = null;
  function updateCanned() {
    slash = slashQuery(text.value, text.selectionStart);
    options = slash ? matchCanned(props.canned(), slash.query).slice(0, 8) : [];
    active = 0;
    drawCanned();
  }
  function drawCanned() {
    const open = slash !== null;
    cannedMenu.hidden = !open;
    if (!open) {
      text.removeAttribute("aria-activedescendant");
      return;
    }
    replace(
      cannedMenu,
      options.length === 0
        ? h(
            "li",
            { class: "popup-empty" },
            props.canned().length ? "No canned response matches." : "No canned responses yet.",
          )
        : options.map((c, i) =>
            h(
              "li",
              {
                id: `canned-${i}`,
                role: "option",
                class: i === active ? "option active" : "option",
                "aria-selected": String(i === active),
                on: {
                  mousedown: (e) => {
                    e.preventDefault();
                    pickCanned(i);
                  },
                },
              },
              h("span", { class: "shortcut" }, "/" + c.shortcut),
              h("span", { class: "option-title" }, c.title),
              h("span", { class: "option-text" }, c.text),
            ),
          ),
    );
    if (options.length) text.setAttribute("aria-activedescendant", `canned-${active}`);
  }
  function pickCanned(/** @type {number} */ i) {
    const chosen = options[i];
    if (!chosen || !slash) return;
    const expanded = expandPlaceholders(chosen.text, placeholderValues(props.row(), props.agentName));
    const next = insertAt(text.value, slash.start, text.selectionStart, expanded);
    text.value = next.text;
    text.setSelectionRange(next.caret, next.caret);
    slash = null;
    drawCanned();
  }

  // Knowledge-base links.
  const kbInput = h("input", {
    type: "search",
    placeholder: "Search the knowledge base",
    "aria-label": "Search the knowledge base",
  });
  const kbResults = h("ul", { class: "kb-results", "aria-label": "Articles" });
  replace(kbPanel, kbInput, kbResults);
  /** @type {HTMLElement | null} */
  let kbOpener = null;
  function toggleKb(/** @type {HTMLElement} */ opener) {
    kbOpener = opener;
    kbPanel.hidden = !kbPanel.hidden;
    opener.setAttribute("aria-expanded", String(!kbPanel.hidden));
    if (!kbPanel.hidden) kbInput.focus();
  }
  function closeKb() {
    kbPanel.hidden = true;
    kbOpener?.setAttribute("aria-expanded", "false");
    text.focus();
  }
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let kbTimer;
  kbInput.addEventListener("input", () => {
    clearTimeout(kbTimer);
    kbTimer = setTimeout(async () => {
      const q = kbInput.value.trim();
      if (!q) return replace(kbResults);
      try {
        const { hits } = await props.api.kbSearch(q);
        replace(
          kbResults,
          hits.length === 0
            ? h("li", { class: "popup-empty" }, "No article found.")
            : hits.map((hit) =>
                h(
                  "li",
                  null,
                  h(
                    "button",
                    { type: "button", class: "kb-hit", on: { click: () => insertArticle(hit) } },
                    h("span", { class: "option-title" }, hit.title),
                    h("span", { class: "option-text" }, hit.snippet),
                  ),
                ),
              ),
        );
      } catch (e) {
        replace(kbResults, h("li", { class: "popup-empty" }, e instanceof Error ? e.message : String(e)));
      }
    }, 250);
  });
  kbPanel.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      closeKb();
    }
  });
  function insertArticle(/** @type {KbHit} */ hit) {
    const url = safeUrl(hit.url);
    if (!url) return props.onError("That article has no web address to share.");
    const at = text.selectionStart;
    const before = at > 0 && !/\s/.test(text.value[at - 1]) ? " " : "";
    const next = insertAt(text.value, at, text.selectionEnd, `${before}${hit.title}: ${url} `);
    text.value = next.text;
    closeKb();
    text.setSelectionRange(next.caret, next.caret);
  }

  // Typing signals, replies only.
  function typing() {
    if (mode !== "reply") return;
    clearTimeout(idleTimer);
    if (text.value.trim() === "") return stopTyping();
    const now = Date.now();
    if (now - lastTypingSent > TYPING_EVERY_MS) {
      lastTypingSent = now;
      props.api.typing(id, true).catch(() => {});
    }
    idleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  }
  function stopTyping() {
    clearTimeout(idleTimer);
    if (lastTypingSent === 0) return;
    lastTypingSent = 0;
    props.api.typing(id, false).catch(() => {});
  }

  async function send() {
    const body = text.value.trim();
    const withFiles = mode === "reply" && files.count() > 0;
    if ((!body && !withFiles) || sending) return;
    sending = true;
    sendButton.disabled = true;
    try {
      if (mode === "reply") {
        const uploads = withFiles ? await files.uploadAll() : [];
        // The same text with the same files is the same message: a retry reuses its client id (stored once).
        const key = JSON.stringify([body, uploads]);
        if (pending.text !== key) pending = { text: key, clientId: crypto.randomUUID() };
        clearTimeout(idleTimer);
        lastTypingSent = 0; // the reply itself ends the typing indicator on the visitor's side
        props.onSent(await props.api.reply(id, body, pending.clientId, uploads));
        files.clear();
      } else {
        if (pending.text !== body) pending = { text: body, clientId: crypto.randomUUID() };
        props.onNote(await props.api.addNote(id, body, pending.clientId));
      }
      if (text.value.trim() === body) {
        text.value = "";
        drafts.delete(`${id}:${mode}`);
      }
      pending = { text: "", clientId: "" };
    } catch (e) {
      if (e instanceof ApiError && e.code === "upload_not_ready") files.forgetUploads();
      props.onError(e instanceof Error ? e.message : String(e)); // the text stays for a retry
    } finally {
      sending = false;
      sendButton.disabled = false;
      text.focus();
    }
  }

  text.addEventListener("input", () => {
    drafts.set(`${id}:${mode}`, text.value);
    updateCanned();
    typing();
  });
  text.addEventListener("click", updateCanned);
  text.addEventListener("blur", () => {
    slash = null;
    drawCanned();
  });
  text.addEventListener("keydown", (e) => {
    if (slash) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (options.length) active = (active + (e.key === "ArrowDown" ? 1 : -1) + options.length) % options.length;
        return drawCanned();
      }
      if ((e.key === "Enter" || e.key === "Tab") && options.length) {
        e.preventDefault();
        return pickCanned(active);
      }
      if (e.key === "Escape") {
        e.preventDefault();
        slash = null;
        return drawCanned();
      }
    }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  form.addEventListener("dragover", (e) => {
    if (mode === "reply" && e.dataTransfer?.types.includes("Files")) e.preventDefault();
  });
  form.addEventListener("drop", (e) => {
    if (mode !== "reply" || !e.dataTransfer?.files.length) return;
    e.preventDefault();
    files.add(e.dataTransfer.files);
  });
  text.addEventListener("paste", (e) => {
    const pasted = e.clipboardData?.files;
    if (mode !== "reply" || !pasted?.length) return;
    e.preventDefault(); // a pasted screenshot becomes a file, not text
    files.add(pasted);
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    send();
  });
  return {
    focus: () => text.focus(),
    dispose: stopTyping,
  };
}
