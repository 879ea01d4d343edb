#!/usr/bin/env bash
# The web inbox's checks: formatting (prettier), the type check (tsc, strict, over every script and test) and the
# unit tests.
# Node is needed only here, never by the server. `--browser` also runs the browser tests in Debian's Chromium against
# the real server: test/browser.js (the page, keyboard, accessibility) and test/e2e.js (an agent answering the
# command-line sample app's visitor). They need target/debug/chatflow-server and target/debug/chatflow, or
# CHATFLOW_SERVER_BIN and CHATFLOW_CLI_BIN.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi
npx prettier --check --log-level warn "inbox/**/*.{js,css,html}" "test/*.js"
npx tsc --noEmit -p jsconfig.json
npx tsc --noEmit -p test/jsconfig.json
node --test test/*.test.js
if [ "${1:-}" = "--browser" ]; then
  node test/attachments-page.js
  node test/browser.js
  node test/e2e.js
fi
