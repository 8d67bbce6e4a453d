#!/usr/bin/env bash
# Property-based API tests: `bash scripts/schemathesis.sh`
#
# Starts the demo server (target/debug/boai serve --demo, a small demo: 200
# gifts) on a fresh temporary SQLite database and data folder on a free port,
# waits for /healthz, and runs Schemathesis against /api/openapi.json once per
# demo user (admin: accounts and settings; shi: city staff and final approver),
# with a bearer token for each. Checks: no 5xx (not_a_server_error), every
# status documented (status_code_conformance), every body matching the schema
# documented for its status and content type (response_schema_conformance,
# content_type_conformance). Prints the number of test cases per user.
#
# Schemathesis is pinned and installed from PyPI into a virtualenv in the
# cache folder (python3-venv is installed with apt-get if the venv module is
# missing). The binary must have been built (`cargo build --workspace`).
#
# Environment (optional):
#   ST_MAX_EXAMPLES  test cases per operation and phase (default 8)
#   ST_USERS         demo users to run as (default "admin shi")
#   ST_PHASES        Schemathesis phases (default examples,coverage,fuzzing)
#   ST_SEED          random seed (default: a fixed one, so CI runs are repeatable)
#   BOAI_BIN         the server binary (default ${CARGO_TARGET_DIR:-target}/debug/boai)
#   BOAI_CACHE_DIR   where the virtualenv lives (default ~/.cache/boai)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${ST_MAX_EXAMPLES:-8}
USERS=${ST_USERS:-admin shi}
PHASES=${ST_PHASES:-examples,coverage,fuzzing}
SEED=${ST_SEED:-20260301}
BIN=${BOAI_BIN:-${CARGO_TARGET_DIR:-target}/debug/boai}
CACHE=${BOAI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/boai}
VENV=$CACHE/schemathesis-$SCHEMATHESIS_VERSION
REPORTS=target/schemathesis
PASSWORD=${BOAI_DEMO_PASSWORD:-boai-demo}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
        echo "need root to run: $*" >&2
        return 1
    fi
}

# --- Schemathesis in a virtualenv --------------------------------------------
if [ ! -x "$VENV/bin/schemathesis" ]; then
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        echo "schemathesis: installing python3-venv"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
    fi
    rm -rf "$VENV"
    mkdir -p "$CACHE"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
echo "schemathesis: $("$VENV/bin/schemathesis" --version)"

if [ ! -x "$BIN" ]; then
    echo "schemathesis: $BIN is missing (run cargo build --workspace first)" >&2
    exit 1
fi

# --- the demo server ----------------------------------------------------------
TMP=$(mktemp -d)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
mkdir -p "$REPORTS"
BOAI_DEMO_GIFTS=200 BOAI_DEMO_PASSWORD=$PASSWORD "$BIN" serve --demo \
    --database-url "sqlite://$TMP/boai.db" --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" \
    >"$REPORTS/server.log" 2>&1 &
SERVER_PID=$!
for i in $(seq 1 300); do
    if curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null; then
        echo "schemathesis: demo server ready at $BASE after ${i}s"
        break
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "schemathesis: the server exited (log: $REPORTS/server.log)" >&2
        tail -n 20 "$REPORTS/server.log" >&2
        exit 1
    fi
    [ "$i" -eq 300 ] && { echo "schemathesis: /healthz not 200 within 300 s" >&2; exit 1; }
    sleep 1
done

token_for() {
    curl -fsS -X POST "$BASE/api/v1/auth/token" -H 'Content-Type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"$PASSWORD\"}" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

# --- the runs ------------------------------------------------------------------
TOTAL=0
FAILED=0
for user in $USERS; do
    token=$(token_for "$user")
    echo ""
    echo "=== schemathesis as $user (max $MAX_EXAMPLES examples per operation; phases $PHASES)"
    for attempt in 1 2; do
        rc=0
        rm -rf "$REPORTS/$user"
        # The token endpoint is left out: Schemathesis would lock the demo users out
        # (10 failed sign-ins answer 423, as the contract says) and revoke tokens.
        "$VENV/bin/schemathesis" run "$BASE/api/openapi.json" \
            --header "Authorization: Bearer $token" \
            --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance \
            --max-examples "$MAX_EXAMPLES" --phases "$PHASES" --seed "$SEED" \
            --exclude-path /api/v1/auth/token \
            --exclude-path-regex '^/api/v1/auth/tokens' \
            --workers 2 --request-timeout 30 --no-color \
            --report junit,ndjson --report-dir "$REPORTS/$user" \
            >"$REPORTS/$user.log" 2>&1 || rc=$?
        # Hypothesis describing a lambda can hit CPython 3.11's AST bug
        # (gh-106905, "AST constructor recursion depth mismatch") at random:
        # a crash of the tool, not a finding. That one case is run again once.
        if [ "$rc" -ne 0 ] && [ "$attempt" -eq 1 ] &&
            grep -q "AST constructor recursion depth mismatch" "$REPORTS/$user.log" &&
            ! grep -Eq "^[[:space:]]*❌|Failures:" "$REPORTS/$user.log"; then
            echo "schemathesis as $user: the tool hit CPython's AST bug (gh-106905); running again"
            cp "$REPORTS/$user.log" "$REPORTS/$user.first-attempt.log"
            continue
        fi
        break
    done
    sed -n '/SUMMARY/,$p' "$REPORTS/$user.log"
    cases=$(python3 - "$REPORTS/$user" <<'EOF'
import json, pathlib, sys
n = 0
for f in pathlib.Path(sys.argv[1]).glob("*.ndjson"):
    for line in f.read_text().splitlines():
        if '"ScenarioFinished"' in line:
            n += 1
print(n)
EOF
)
    echo "schemathesis as $user: exit $rc, $cases test scenarios (log: $REPORTS/$user.log)"
    TOTAL=$((TOTAL + cases))
    [ "$rc" -eq 0 ] || FAILED=1
done
echo ""
echo "schemathesis: $TOTAL test scenarios in all"
if grep -Eq '"level": *"ERROR"|panicked' "$REPORTS/server.log"; then
    echo "schemathesis: the server logged errors (see $REPORTS/server.log):" >&2
    grep -E '"level": *"ERROR"|panicked' "$REPORTS/server.log" | head -n 5 >&2
fi
exit "$FAILED"
