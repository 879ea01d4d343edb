// @ts-check
// What the browser tests share: the real chatflow-server on a free port with a temp database, a JSON client for its
// API, Debian's Chromium (headless, never downloaded), and the sign-in form filled as a person would.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

export const ROOT = join(import.meta.dirname, "..", "..", "..");
export const OUT = join(import.meta.dirname, "output");
export const SEED = join(ROOT, "server", "seeds", "test.json");
export const SERVER_BIN = process.env.CHATFLOW_SERVER_BIN ?? join(ROOT, "target", "debug", "chatflow-server");
export const CLI_BIN = process.env.CHATFLOW_CLI_BIN ?? join(ROOT, "target", "debug", "chatflow");
export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";

/**
 * Starts the real server on a free port with a temp database; resolves with its URL and a stop function.
 * @param {string} [seed]
 */
export async function startServer(seed = SEED) {
  if (!existsSync(SERVER_BIN)) throw new Error(`${SERVER_BIN} is missing: run \`cargo build -p chatflow-server\``);
  const dir = mkdtempSync(join(tmpdir(), "inbox-web-"));
  // The page's tests seed conversations and measure bursts faster than one visitor, one app or one agent may write
  // (20 per 10 s, 300 per 10 s, 120 a minute by default): those limits are raised here; they have their own tests
  // (server/tests/cases/limits*.rs).
  const args = ["--db", join(dir, "t.db"), "--bind", "127.0.0.1:0", "--seed", seed];
  args.push("--limit-sends-per-visitor", "1000000/1m", "--limit-typing-per-visitor", "1000000/1m");
  args.push("--limit-sends-per-app", "1000000/1m", "--limit-agent-writes-per-agent", "1000000/1m");
  const child = spawn(SERVER_BIN, args, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stderr.resume();
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: /** @type {import("node:stream").Readable} */ (child.stdout) }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`chatflow-server exited (${code})`)));
  });
  const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(String(line));
  if (!m) throw new Error(`unexpected first line: ${line}`);
  return {
    url: m[1],
    dir,
    stop: () => {
      child.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A small JSON client for the real server with bearer tokens (scripts' way in; the page uses its cookie).
 * @param {string} base
 */
export function client(base) {
  const call = async (
    /** @type {string} */ method,
    /** @type {string} */ path,
    /** @type {string} */ token,
    /** @type {unknown} */ body,
  ) => {
    const res = await fetch(base + path, {
      method,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  return Object.assign(call, { base });
}

/** Chromium's flags for the tests: headless in a container, nothing reaching out to the network. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Debian's Chromium, headless. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/**
 * Collects what must never happen in a page: script errors, CSP violations, dialogs (an `alert` from data).
 * @param {import("playwright-core").Page} page
 * @param {string[]} problems
 * @param {string} who
 */
export function watchProblems(page, problems, who) {
  page.on("dialog", (d) => {
    problems.push(`${who}: a dialog opened: ${d.message()}`);
    d.dismiss();
  });
  page.on("pageerror", (e) => problems.push(`${who}: page error: ${e.message}`));
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) problems.push(`${who}: CSP: ${m.text()}`);
    else if (m.type() === "error" && !/Failed to load resource|WebSocket/.test(m.text()))
      problems.push(`${who}: console: ${m.text()}`);
  });
}

/**
 * Signs in through the page's form, as a person would, and waits for the list.
 * @param {import("playwright-core").Page} page
 * @param {string} base
 * @param {{email: string, password: string}} agent
 */
export async function signIn(page, base, agent) {
  await page.goto(`${base}/inbox/`);
  await page.waitForSelector("#login-email:focus");
  await page.keyboard.type(agent.email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(agent.password);
  await page.keyboard.press("Enter");
  await page.waitForSelector("#login", { state: "hidden" });
}
