// @ts-check
// Rules the page's files must keep: no HTML built from strings, nothing the Content-Security-Policy would block
// (inline scripts or handlers, style attributes, eval), no external resources, every script type-checked.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const dir = join(import.meta.dirname, "..", "inbox");
const files = readdirSync(dir);
const read = (/** @type {string} */ name) => readFileSync(join(dir, name), "utf8");
const js = files.filter((f) => f.endsWith(".js"));

test("no script builds HTML from strings or evaluates code", () => {
  const forbidden = [
    "inner" + "HTML",
    "outer" + "HTML",
    "insertAdjacent" + "HTML",
    "document." + "write",
    "eval" + "(",
    "new " + "Function",
    "srcdoc",
    "createContextual" + "Fragment",
    "DOMParser",
  ];
  assert.ok(js.length >= 10, "the scripts are where this test looks");
  for (const file of js) {
    const text = read(file);
    for (const word of forbidden) assert.ok(!text.includes(word), `${file} uses ${word}`);
    assert.ok(!/setTimeout\(\s*["'`]/.test(text), `${file} passes a string to setTimeout`);
  }
});

test("every script is type-checked", () => {
  for (const file of js) assert.ok(read(file).startsWith("// @ts-check\n"), `${file} starts with // @ts-check`);
});

test("index.html has no inline script, handler or style, and loads only local files", () => {
  const html = read("index.html");
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
    assert.match(m[1], /\bsrc="[\w.-]+\.js"/, "scripts come from files");
    assert.equal(m[2].trim(), "", "no inline script");
  }
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i, "no inline event handlers");
  assert.doesNotMatch(html, /\sstyle\s*=|<style/i, "no inline styles");
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//i, "no external resources");
});

test("the stylesheet loads nothing from elsewhere (system fonts, no CDN)", () => {
  for (const file of files.filter((f) => f.endsWith(".css"))) {
    const css = read(file);
    assert.doesNotMatch(css, /@import|@font-face|url\(/i, `${file} loads an external resource`);
  }
});

test("scripts talk to their own origin only", () => {
  for (const file of js) assert.doesNotMatch(read(file), /["'`]https?:\/\//, `${file} has an absolute URL`);
});

test("no wait inside a state update (the spread would be the state from before the wait)", () => {
  for (const file of js)
    assert.doesNotMatch(read(file), /\{\s*\.\.\.state\b[^;]*\bawait\b/, `${file} awaits in a spread`);
});
