// @ts-check
// Sign-in: email and password; the server's refusal (wrong credentials, too many attempts with the delay) is shown
// as text. The session lives in an HttpOnly cookie; the page keeps only the CSRF token, in memory.

import { h, replace } from "./dom.js";
import { ApiError } from "./api.js";

/**
 * @typedef {import("./api.js").Api} Api
 * @typedef {import("./types.js").Session} Session
 * @param {Element} el @param {Api} api @param {(session: Session) => void} onSignedIn @param {string} [notice]
 */
export function renderLogin(el, api, onSignedIn, notice) {
  const email = h("input", {
    id: "login-email",
    type: "email",
    name: "email",
    autocomplete: "username",
    required: true,
  });
  const password = h("input", {
    id: "login-password",
    type: "password",
    name: "password",
    autocomplete: "current-password",
    required: true,
  });
  const message = h("p", { class: "error", role: "alert" }, notice ?? "");
  const submit = h("button", { type: "submit", class: "btn primary wide" }, "Sign in");
  const form = h(
    "form",
    { class: "login-card", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Sign in to the inbox"),
    h("label", { for: "login-email" }, "Email"),
    email,
    h("label", { for: "login-password" }, "Password"),
    password,
    message,
    submit,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    submit.disabled = true;
    message.textContent = "";
    try {
      const session = await api.login(email.value.trim(), password.value);
      password.value = "";
      onSignedIn(session);
    } catch (err) {
      message.textContent = loginError(err);
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  replace(el, form);
  email.focus();
}

/** What to tell the person after a refused sign-in. */
export function loginError(/** @type {unknown} */ err) {
  if (err instanceof ApiError) {
    if (err.code === "rate_limited" && err.retryAfter) {
      const minutes = Math.ceil(err.retryAfter / 60);
      const wait = err.retryAfter < 90 ? `${err.retryAfter} seconds` : `${minutes} minutes`;
      return `Too many attempts. Try again in ${wait}.`;
    }
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
