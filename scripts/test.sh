#!/usr/bin/env bash
# Boai's one test command (README.md names it): `bash scripts/test.sh`
#
# On a fresh Debian 12 machine it first sets up what the tests need (quick and
# idempotent when everything is already there):
#   - Debian packages: chromium, fonts-noto-cjk, postgresql-client (if psql is missing),
#     golang-go + golang-golang-x-mod-dev (Go's sumdb note/tlog check our ledger)
#   - PostgreSQL answering at 127.0.0.1:5432 (started with pg_ctlcluster if not)
#   - the browser tests' npm packages (npm ci in e2e/)
# and then runs, timing each phase:
#   a. build     cargo build --workspace --all-targets (one dev profile for everything)
#   b. sqlite    every Rust test on SQLite
#   c. postgres  the very same tests on PostgreSQL (one fresh database per test)
#   d. browser   the end-to-end tests in e2e/ (Chromium against $TARGET/debug/boai)
#   e. fuzz      scripts/fuzz.sh: every cargo-fuzz target in fuzz/ for BOAI_FUZZ_SECS
#                (default 20) seconds (installs cargo-fuzz from crates.io if missing)
#   f. openapi   scripts/schemathesis.sh: Schemathesis (PyPI, pinned, in a venv) against
#                the demo server's /api/openapi.json: no 5xx, statuses and bodies as documented
#   g. cleanup   drops leftover boai_test_* databases (also on failure)
#
# Environment (all optional):
#   BOAI_TEST_PG_URL   PostgreSQL server for phase c
#                      (default postgres://postgres@127.0.0.1:5432/postgres)
#   BOAI_FUZZ_SECS     seconds per fuzz target in phase e (default 5: the stored
#                      corpus replayed, then a short smoke run; long runs are
#                      done by hand and reported in closing notes)
#   CARGO_TARGET_DIR   where cargo builds (default target/); .ci/run keeps it
#                      outside the clone so a second run on the machine is warm
#
# The tests that need the demo city copy one seeded per run and backend
# (boai-testkit's template module, named by BOAI_TEST_RUN); the cleanup phase
# removes the templates.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
TARGET=${CARGO_TARGET_DIR:-target}
mkdir -p "$TARGET"
TARGET=$(cd "$TARGET" && pwd)
export BOAI_TEST_RUN=${BOAI_TEST_RUN:-run$(date +%s)$$}
export BOAI_E2E_BINARY=${BOAI_E2E_BINARY:-$TARGET/debug/boai}

PG_HOST=127.0.0.1
PG_PORT=5432
PG_USER=postgres
PG_URL=${BOAI_TEST_PG_URL:-postgres://${PG_USER}@${PG_HOST}:${PG_PORT}/postgres}
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}
export BOAI_REQUIRE_GO=1

START_ALL=$(date +%s)
PHASE_NAMES=()
PHASE_SECS=()
PHASE_STATUS=()
CURRENT_PHASE=""
CURRENT_START=0
CLEANED_UP=0

log() { printf '%s\n' "$*"; }

phase_begin() {
    CURRENT_PHASE=$1
    CURRENT_START=$(date +%s)
    log ""
    log "=== [$(date +%H:%M:%S)] $1: $2"
}

phase_end() {
    local secs=$(( $(date +%s) - CURRENT_START ))
    PHASE_NAMES+=("$CURRENT_PHASE")
    PHASE_SECS+=("$secs")
    PHASE_STATUS+=("ok")
    log "=== $CURRENT_PHASE: ok in ${secs} s"
    CURRENT_PHASE=""
}

# Runs one phase: phase NAME DESCRIPTION COMMAND...
phase() {
    local name=$1 desc=$2
    shift 2
    phase_begin "$name" "$desc"
    "$@"
    phase_end
}

summary() {
    local rc=$1 i
    log ""
    log "=== summary"
    for i in "${!PHASE_NAMES[@]}"; do
        printf '  %-9s %-6s %5s s\n' "${PHASE_NAMES[$i]}" "${PHASE_STATUS[$i]}" "${PHASE_SECS[$i]}"
    done
    printf '  %-9s %-6s %5s s\n' "total" "$([ "$rc" -eq 0 ] && echo ok || echo FAILED)" "$(( $(date +%s) - START_ALL ))"
}

# --- cleanup: drop the databases that tests left behind ----------------------
drop_test_databases() {
    if ! command -v psql >/dev/null 2>&1; then
        log "psql not found: no databases to drop"
        return 0
    fi
    if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; then
        log "PostgreSQL is not answering at $PG_HOST:$PG_PORT: no databases to drop"
        return 0
    fi
    rm -rf "${TMPDIR:-/tmp}/boai-test-templates"
    local dbs db n=0 sql=""
    dbs=$(psql -X -q -At -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres \
        -c "SELECT datname FROM pg_database WHERE datname LIKE 'boai\_test\_%' OR datname LIKE 'boai\_tpl\_%'") || return 1
    for db in $dbs; do
        sql+="DROP DATABASE IF EXISTS \"$db\" WITH (FORCE);"$'\n'
        n=$((n + 1))
    done
    if [ "$n" -gt 0 ]; then
        # One session; statements read from stdin each run on their own
        # (DROP DATABASE may not run inside a transaction).
        printf '%s' "$sql" | psql -X -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres \
            -v ON_ERROR_STOP=1 -f - || return 1
    fi
    log "dropped $n leftover boai_test_*/boai_tpl_* database(s); removed the test templates"
}

on_exit() {
    local rc=$?
    trap - EXIT
    set +e
    if [ -n "$CURRENT_PHASE" ]; then
        local secs=$(( $(date +%s) - CURRENT_START ))
        PHASE_NAMES+=("$CURRENT_PHASE")
        PHASE_SECS+=("$secs")
        PHASE_STATUS+=("FAILED")
        log "=== $CURRENT_PHASE: FAILED (exit $rc) after ${secs} s"
        CURRENT_PHASE=""
    fi
    if [ "$CLEANED_UP" -eq 0 ]; then
        phase_begin cleanup "drop leftover boai_test_* databases"
        if drop_test_databases; then phase_end; else
            PHASE_NAMES+=("cleanup"); PHASE_SECS+=("$(( $(date +%s) - CURRENT_START ))"); PHASE_STATUS+=("FAILED")
            CURRENT_PHASE=""
            [ "$rc" -eq 0 ] && rc=1
        fi
    fi
    summary "$rc"
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- set-up ------------------------------------------------------------------
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        log "need root to run: $*" >&2
        return 1
    fi
}

install_debian_packages() {
    local missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'ok installed' || missing+=(fonts-noto-cjk)
    command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
    command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    # Go's reference transparency-log implementation checks our ledger.
    command -v go >/dev/null 2>&1 || missing+=(golang-go)
    [ -f /usr/share/gocode/src/golang.org/x/mod/sumdb/tlog/tlog.go ] || missing+=(golang-golang-x-mod-dev)
    if [ "${#missing[@]}" -eq 0 ]; then
        log "Debian packages: all present"
        return 0
    fi
    log "Debian packages: installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

ensure_postgres() {
    if pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
        log "PostgreSQL: answering at $PG_HOST:$PG_PORT"
        return 0
    fi
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    version=${version:-15}
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        log "PostgreSQL is not answering at $PG_HOST:$PG_PORT and pg_ctlcluster is missing (is the server installed?)" >&2
        return 1
    fi
    log "PostgreSQL: starting cluster $version/main"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    local i
    for i in $(seq 1 60); do
        if pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
            log "PostgreSQL: answering at $PG_HOST:$PG_PORT after ${i}s"
            return 0
        fi
        sleep 1
    done
    log "PostgreSQL did not answer at $PG_HOST:$PG_PORT within 60 s" >&2
    return 1
}

install_e2e_packages() {
    local stamp=e2e/node_modules/.boai-lock-sha256 want
    if [ -f e2e/package-lock.json ]; then
        want=$(sha256sum e2e/package.json e2e/package-lock.json | sha256sum | cut -d' ' -f1)
        if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d e2e/node_modules/playwright-core ]; then
            log "npm: e2e/node_modules up to date"
            return 0
        fi
        (cd e2e && npm ci --no-audit --no-fund)
        # package.json and package-lock.json are unchanged by npm ci.
        printf '%s\n' "$want" > "$stamp"
    else
        (cd e2e && npm install --no-audit --no-fund)
    fi
}

setup() {
    install_debian_packages
    ensure_postgres
    install_e2e_packages
    log "versions: $(cargo --version); node $(node --version); $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium ?')"
}

# --- phases ------------------------------------------------------------------
# Test output is also kept in $TARGET/test-output.log so that the totals can
# be printed as one plain line at the end ("N passed, M failed").
TEST_LOG=$TARGET/test-output.log
: > "$TEST_LOG"

run_sqlite_tests() {
    BOAI_TEST_DATABASE=sqlite cargo test --workspace 2>&1 | tee -a "$TEST_LOG"
}

run_postgres_tests() {
    BOAI_TEST_DATABASE=postgres BOAI_TEST_PG_URL="$PG_URL" cargo test --workspace 2>&1 | tee -a "$TEST_LOG"
}

# Sums cargo's "test result" lines and node's "# pass/# fail" lines into
# $TARGET/test-totals.txt: "N passed, M failed".
write_totals() {
    local passed failed
    passed=$(grep -Eo '(test result: [a-zA-Z]+\. [0-9]+ passed|^# pass [0-9]+)' "$TEST_LOG" | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
    failed=$( (grep -Eo '([0-9]+ failed;|^# fail [0-9]+)' "$TEST_LOG" || true) | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
    printf '%s passed, %s failed\n' "${passed:-0}" "${failed:-0}" > "$TARGET/test-totals.txt"
}

run_browser_tests() {
    if [ ! -x "$BOAI_E2E_BINARY" ]; then
        log "$BOAI_E2E_BINARY is missing: the build phase should have made it" >&2
        return 1
    fi
    mkdir -p e2e/screenshots
    # Every *.test.mjs in e2e/ (same as `node --test e2e/`, which node 20 accepts
    # but later versions read as a file pattern).
    node --test e2e/*.test.mjs 2>&1 | tee -a "$TEST_LOG"
}

phase setup    "packages, PostgreSQL, npm ci in e2e/" setup
phase build    "cargo build --workspace --all-targets" cargo build --workspace --all-targets
phase sqlite   "BOAI_TEST_DATABASE=sqlite cargo test --workspace" run_sqlite_tests
phase postgres "BOAI_TEST_DATABASE=postgres cargo test --workspace ($PG_URL)" run_postgres_tests
phase browser  "node --test e2e/ (Chromium against $BOAI_E2E_BINARY)" run_browser_tests
phase fuzz     "scripts/fuzz.sh ${BOAI_FUZZ_SECS:-5} (cargo-fuzz, stable, no sanitizer; every target)" \
    bash scripts/fuzz.sh "${BOAI_FUZZ_SECS:-5}"
phase openapi  "scripts/schemathesis.sh (demo server against its OpenAPI document)" bash scripts/schemathesis.sh
phase cleanup  "drop leftover boai_test_* databases" drop_test_databases
CLEANED_UP=1
write_totals
log ""
log "all tests passed (screenshots in $ROOT/e2e/screenshots/)"
