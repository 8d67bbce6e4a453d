#!/usr/bin/env bash
# Build (offline, GOPATH mode against Debian's golang-golang-x-mod-dev) and run
# ledgercheck. Takes exactly the same arguments as ledgercheck:
#
#   e2e/go/run-ledgercheck.sh BASE [-old N] [-old-hash B64] [-sample K] [-key VKEY|-key-file F] [-expect-fail] [-v]
#
# Exit status: ledgercheck's (0 ok, 1 audit failed, 2 usage error), or
# 127 if go / the x/mod sources are missing, 3 if the build fails.
# Installs nothing and never touches the network.
set -euo pipefail

if ! command -v go >/dev/null 2>&1; then
  echo "run-ledgercheck.sh: 'go' not found in PATH." >&2
  echo "  On Debian/Ubuntu: apt-get install -y golang-go golang-golang-x-mod-dev" >&2
  exit 127
fi

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GOSRC="${LEDGERCHECK_GOPATH:-/usr/share/gocode}"
if [ ! -f "$GOSRC/src/golang.org/x/mod/sumdb/tlog/tlog.go" ] || [ ! -f "$GOSRC/src/golang.org/x/mod/sumdb/note/note.go" ]; then
  echo "run-ledgercheck.sh: golang.org/x/mod sources not found under $GOSRC/src." >&2
  echo "  On Debian/Ubuntu: apt-get install -y golang-golang-x-mod-dev  (or set LEDGERCHECK_GOPATH)" >&2
  exit 127
fi

# Offline GOPATH-mode build: imports resolve from $GOSRC/src, nothing is
# downloaded, nothing is written under $GOSRC (go build uses only GOCACHE).
export GO111MODULE=off GOPATH="$GOSRC" GOPROXY=off GOFLAGS= CGO_ENABLED=0
if [ -z "${GOCACHE:-}" ]; then
  export GOCACHE="${TMPDIR:-/tmp}/ledgercheck-gocache-$(id -u)"
fi

BINDIR="$(mktemp -d "${TMPDIR:-/tmp}/ledgercheck-bin.XXXXXX")"
trap 'rm -rf "$BINDIR"' EXIT

if ! (cd "$HERE" && go build -o "$BINDIR/ledgercheck" ./ledgercheck); then
  echo "run-ledgercheck.sh: building ledgercheck failed" >&2
  exit 3
fi

set +e
"$BINDIR/ledgercheck" "$@"
rc=$?
set -e
exit "$rc"
