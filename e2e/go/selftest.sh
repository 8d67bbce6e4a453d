#!/usr/bin/env bash
# Self-test for ledgercheck against a static fake log (no Rust server needed):
# generates logs with fakelog, serves them with `python3 -m http.server`,
# runs positive checks and tamper/wrong-key checks that must FAIL.
# Offline; needs: go (golang-go), golang-golang-x-mod-dev, python3.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUN="$HERE/run-ledgercheck.sh"
GOSRC="${LEDGERCHECK_GOPATH:-/usr/share/gocode}"
command -v go >/dev/null 2>&1 || { echo "selftest: 'go' not found (apt-get install -y golang-go golang-golang-x-mod-dev)" >&2; exit 127; }
command -v python3 >/dev/null 2>&1 || { echo "selftest: python3 not found" >&2; exit 127; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ledgercheck-selftest.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

export GO111MODULE=off GOPATH="$GOSRC" GOPROXY=off GOFLAGS= CGO_ENABLED=0
export GOCACHE="${GOCACHE:-${TMPDIR:-/tmp}/ledgercheck-gocache-$(id -u)}"
(cd "$HERE" && go build -o "$WORK/fakelog" ./fakelog)

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
ROOT="$WORK/www"
mkdir -p "$ROOT"
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$ROOT" >"$WORK/http.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do
  python3 -c "import urllib.request,sys; urllib.request.urlopen('$BASE/')" 2>/dev/null && break
  sleep 0.1
done

pass=0; fail=0
ok()  { echo "PASS: $*"; pass=$((pass+1)); }
bad() { echo "SELFTEST FAILURE: $*"; fail=$((fail+1)); }

# serve LOGDIR: make $ROOT/ledger point at the given generated log.
serve() { rm -rf "$ROOT/ledger"; cp -r "$1/ledger" "$ROOT/ledger"; }

expect_ok() {  # description, args...
  local d="$1"; shift; local out rc=0
  out="$("$RUN" "$BASE" "$@" 2>&1)" || rc=$?
  if [ $rc -eq 0 ] && [[ "$out" == ok:* ]]; then ok "$d -> $out"; else bad "$d (rc=$rc): $out"; fi
}
expect_fail() {  # description, args...
  local d="$1"; shift; local out rc=0 out2 rc2=0
  out="$("$RUN" "$BASE" "$@" 2>&1)" || rc=$?
  out2="$("$RUN" "$BASE" "$@" -expect-fail 2>&1)" || rc2=$?
  if [ $rc -eq 1 ] && [[ "$out" == FAIL:* ]] && [ $rc2 -eq 0 ]; then ok "$d -> $out"; else bad "$d (rc=$rc, rc with -expect-fail=$rc2): $out"; fi
}
flip_byte() {  # file offset
  python3 - "$1" "$2" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, 'rb').read()); b[off] ^= 0x01; open(p, 'wb').write(b)
PY
}

# --- 600 entries: 2 full tiles + partial 88, level-1 partial tile of width 2.
"$WORK/fakelog" -dir "$WORK/log600" -n 600 -hash-at 1,300,599 -ext "extension line"
serve "$WORK/log600"
H300="$(awk '$1==300{print $2}' "$WORK/log600/hashes.txt")"
H299WRONG="$(awk '$1==599{print $2}' "$WORK/log600/hashes.txt")"
expect_ok   "600 entries, all checked"
expect_ok   "600 entries, -sample 10" -sample 10
expect_ok   "600 entries, -old 300 -old-hash (correct)" -old 300 -old-hash "$H300"
expect_ok   "600 entries, -key-file (correct, out of band)" -key-file "$WORK/log600/ledger/key"
expect_fail "wrong -old-hash" -old 300 -old-hash "$H299WRONG"
expect_fail "-old larger than size (rollback)" -old 601
expect_fail "wrong key via -key-file" -key-file "$WORK/log600/wrong.vkey"
cp "$WORK/log600/wrong.vkey" "$ROOT/ledger/key"
expect_fail "wrong key served at /ledger/key"
serve "$WORK/log600"
flip_byte "$ROOT/ledger/tile/entries/001" 10
expect_fail "one byte flipped in entry bundle 001 (entry data)"
serve "$WORK/log600"
flip_byte "$ROOT/ledger/tile/entries/002.p/88" 0
expect_fail "one byte flipped in partial entry bundle length prefix"
serve "$WORK/log600"
flip_byte "$ROOT/ledger/tile/0/001" 100
expect_fail "one byte flipped in hash tile 0/001"
serve "$WORK/log600"
flip_byte "$ROOT/ledger/tile/1/000.p/2" 5
expect_fail "one byte flipped in level-1 hash tile"
serve "$WORK/log600"
# Consistent tamper: change entry 259 AND its leaf hash in tile 0/001.
# tlog.TileHashReader (x/mod v0.7.0) hands out tile 0/001 for size 600
# without checking it against its parent tile, so only the independent
# checks (entries -> signed root, served tiles == recomputed tiles) catch it.
python3 - "$ROOT/ledger" <<'PY'
import hashlib, struct, sys
d = sys.argv[1]
b = bytearray(open(d + '/tile/entries/001', 'rb').read())
off = 0
for _ in range(3):                       # skip entries 256..258
    off += 2 + struct.unpack('>H', b[off:off+2])[0]
n = struct.unpack('>H', b[off:off+2])[0]
b[off+2] ^= 0x01                         # entry 259, first byte
open(d + '/tile/entries/001', 'wb').write(b)
leaf = hashlib.sha256(b'\x00' + bytes(b[off+2:off+2+n])).digest()
t = bytearray(open(d + '/tile/0/001', 'rb').read())
t[3*32:4*32] = leaf
open(d + '/tile/0/001', 'wb').write(t)
PY
expect_fail "entry 259 and its leaf hash in tile 0/001 tampered consistently"
serve "$WORK/log600"
sed -i '2s/600/599/' "$ROOT/ledger/checkpoint"
expect_fail "checkpoint size edited (signature no longer valid)"
serve "$WORK/log600"
rm "$ROOT/ledger/tile/entries/002.p/88"
expect_fail "missing partial entry bundle"
serve "$WORK/log600"
"$WORK/fakelog" -dir "$WORK/other" -n 600 -origin example.com/other >/dev/null
cp "$WORK/other/ledger/key" "$ROOT/ledger/key"; cp "$WORK/other/ledger/checkpoint" "$ROOT/ledger/checkpoint"
expect_fail "checkpoint origin / key name differs from -key-file name" -key-file "$WORK/log600/ledger/key"

# --- edge sizes
for n in 0 1 255 256 257 65536; do
  "$WORK/fakelog" -dir "$WORK/log$n" -n $n >/dev/null
  serve "$WORK/log$n"
  expect_ok "$n entries"
done
# --- 300000 entries: level-2 tiles and x001/... paths (tile/entries/x001/000 etc.)
"$WORK/fakelog" -dir "$WORK/logbig" -n 300000 -hash-at 256000 >/dev/null
serve "$WORK/logbig"
HBIG="$(awk '$1==256000{print $2}' "$WORK/logbig/hashes.txt")"
expect_ok "300000 entries, -sample 50 -old 256000 -old-hash" -sample 50 -old 256000 -old-hash "$HBIG"

echo "selftest: $pass passed, $fail failed"
[ $fail -eq 0 ]
