// @ts-check
// A menu button (WAI-ARIA menu pattern): Enter/Space/ArrowDown opens it on the first item, arrows move, Home/End,
// Enter picks, Esc closes and gives the focus back to the button, a click elsewhere closes it.

import { h } from "./dom.js";

/**
 * @typedef {{label: string, detail?: string, onSelect: () => void, disabled?: boolean, danger?: boolean}} MenuItem
 * @param {{label: string, title?: string, className?: string, items: () => (MenuItem | "separator")[]}} props
 */
export function menuButton(props) {
  const button = h(
    "button",
    {
      type: "button",
      class: props.className ?? "btn",
      "aria-haspopup": "menu",
      "aria-expanded": "false",
      title: props.title ?? null,
    },
    props.label,
    h("span", { class: "caret", "aria-hidden": "true" }, "▾"),
  );
  const list = h("div", { class: "menu", role: "menu", "aria-label": props.label, hidden: true });
  const wrap = h("div", { class: "menu-wrap" }, button, list);

  const items = () =>
    /** @type {HTMLElement[]} */ ([...list.querySelectorAll('[role="menuitem"]:not([aria-disabled="true"])')]);
  const onOutside = (/** @type {Event} */ e) => {
    if (!wrap.contains(/** @type {Node} */ (e.target))) close(false);
  };

  function open(focusLast = false) {
    list.replaceChildren();
    for (const item of props.items()) {
      if (item === "separator") {
        list.appendChild(h("div", { class: "menu-sep", role: "separator" }));
        continue;
      }
      list.appendChild(
        h(
          "button",
          {
            type: "button",
            role: "menuitem",
            tabindex: "-1",
            class: item.danger ? "menu-item danger" : "menu-item",
            "aria-disabled": item.disabled ? "true" : null,
            on: {
              click: () => {
                if (item.disabled) return;
                close(true);
                item.onSelect();
              },
            },
          },
          h("span", null, item.label),
          item.detail ? h("span", { class: "menu-detail" }, item.detail) : null,
        ),
      );
    }
    list.hidden = false;
    button.setAttribute("aria-expanded", "true");
    document.addEventListener("mousedown", onOutside);
    const all = items();
    (focusLast ? all[all.length - 1] : all[0])?.focus();
  }

  function close(/** @type {boolean} */ refocus) {
    if (list.hidden) return;
    list.hidden = true;
    button.setAttribute("aria-expanded", "false");
    document.removeEventListener("mousedown", onOutside);
    if (refocus) button.focus();
  }

  button.addEventListener("click", () => (list.hidden ? open() : close(true)));
  button.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      open(e.key === "ArrowUp");
    }
  });
  list.addEventListener("keydown", (e) => {
    const all = items();
    const at = all.indexOf(/** @type {HTMLElement} */ (document.activeElement));
    const go = (/** @type {number} */ i) => all[(i + all.length) % all.length]?.focus();
    if (e.key === "ArrowDown") go(at + 1);
    else if (e.key === "ArrowUp") go(at - 1);
    else if (e.key === "Home") go(0);
    else if (e.key === "End") go(all.length - 1);
    else if (e.key === "Escape") close(true);
    else if (e.key === "Tab") close(false);
    else return;
    if (e.key !== "Tab") e.preventDefault();
  });
  return wrap;
}
