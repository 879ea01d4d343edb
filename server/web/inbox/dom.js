// @ts-check
// The only way the page builds DOM: h(tag, attrs, ...children). String children become text nodes, attributes are
// set one by one, so data (messages, names, properties) can never become markup. Links only ever get http(s) URLs.

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Child | ChildList} Children
 * @typedef {Array<Child | Child[] | Child[][]>} ChildList
 * @typedef {{
 *   [name: string]: string | number | boolean | null | undefined | Record<string, EventListener>,
 *   on?: Record<string, EventListener>
 * }} Attrs
 */

/** Attributes holding a URL the browser may load or navigate to: only http(s) values get through. */
const URL_ATTRIBUTES = new Set(["href", "src", "action", "formaction", "poster", "cite", "data", "xlink:href"]);

/** URLs a link may point to: absolute http(s) only (never javascript:, data:, …). */
export function safeUrl(/** @type {string} */ url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs | null} [attrs]
 * @param {...Children} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (name === "on") {
      for (const [type, listener] of Object.entries(/** @type {Record<string, EventListener>} */ (value))) {
        el.addEventListener(type, listener);
      }
      continue;
    }
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "object") throw new TypeError(`attribute ${name}: only \`on\` takes an object`);
    if (/^on/i.test(name)) throw new TypeError(`attribute ${name}: pass listeners in \`on\``);
    if (URL_ATTRIBUTES.has(name.toLowerCase())) {
      const url = safeUrl(String(value));
      if (url) el.setAttribute(name, url);
      continue;
    }
    if (name === "style") throw new TypeError("no style attributes (Content-Security-Policy): use a class");
    el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** Appends children (strings as text). */
export function append(/** @type {Node} */ parent, /** @type {Children[]} */ children) {
  for (const child of /** @type {Child[]} */ (children.flat(Infinity))) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/**
 * Replaces a region's content, keeping the keyboard focus on the element with the same `data-key` when there is one
 * (re-rendering a list must not throw the agent's focus away).
 * @param {Element} container
 * @param {Children[]} children
 */
export function replace(container, ...children) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.getAttribute("data-key") : null;
  container.replaceChildren();
  append(container, children);
  if (key) {
    const again = container.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again instanceof HTMLElement) again.focus();
  }
}

/** The element with this id, typed; throws when the page lacks it (a broken index.html, not a run-time state). */
export function byId(/** @type {string} */ id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el;
}
