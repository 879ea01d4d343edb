#!/usr/bin/env bash
# The S3-compatible service of the S3 blob store's tests: moto in server mode, from PyPI, in the venv build/venv-moto.
# Installs it when it is missing or another version; does nothing otherwise. The tests start and stop it themselves
# (server/tests/support/moto.rs); `CHATFLOW_MOTO_PYTHON` may name another interpreter that has moto.
#
#   bash scripts/moto.sh        # then: CHATFLOW_REQUIRE_S3=1 cargo nextest run -p chatflow-server s3
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_VERSION=5.2.6
VENV=build/venv-moto
PY=$VENV/bin/python

if [ -x "$PY" ] && "$PY" - "$MOTO_VERSION" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
import flask, flask_cors, moto.server  # noqa: F401  (server mode needs flask)
sys.exit(version("moto") != sys.argv[1])
PY
then
  exit 0
fi

echo "installing moto $MOTO_VERSION (S3 and server mode) with pip into $VENV"
rm -rf "$VENV"
mkdir -p build
python3 -m venv "$VENV" || { echo "python3 -m venv failed: install python3-venv (Debian) and retry" >&2; exit 1; }
# Only the S3 service's extras and the server's web stack, not every AWS service's dependencies (half the size).
"$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[s3]==$MOTO_VERSION" "flask==3.1.3" "flask-cors==6.0.5"
"$PY" -c "import moto.server" && echo "moto $MOTO_VERSION ready in $VENV"
