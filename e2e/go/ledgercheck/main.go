// Command ledgercheck audits a C2SP transparency log (tlog-checkpoint +
// signed-note + tlog-tiles) served over HTTP, using the reference Go
// implementation in golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog.
//
// Usage:
//
//	ledgercheck BASE [-old N] [-old-hash B64] [-sample K] [-key VKEY | -key-file F]
//	            [-expect-fail] [-v] [-timeout D] [-seed S] [-nocache]
//
// Endpoints (the server contract):
//
//	BASE/ledger/key                        note verifier key <name>+<hash>+<base64>
//	BASE/ledger/checkpoint                 signed C2SP checkpoint
//	BASE/ledger/tile/<L>/<N>[.p/<W>]       hash tiles, height 8
//	BASE/ledger/tile/entries/<N>[.p/<W>]   entry bundles (uint16 BE length prefixed)
//
// Checks, in order:
//
//  1. the checkpoint is a signed note verified with the key (note.Open),
//     and the key name equals the checkpoint origin;
//  2. all entry bundles parse and the entries hash (tlog.StoredHashes /
//     tlog.TreeHash, RFC 6962) to the signed root;
//  3. the hash tiles, read through tlog.TileHashReader, reproduce the signed
//     root, and every served tile equals the tile recomputed from the entries;
//  4. every entry's tlog.RecordHash equals its level-0 tile hash, and
//     tlog.ProveRecord/CheckRecord succeed for all (or -sample K) entries;
//  5. tlog.ProveTree/CheckTree from sizes 1, size/2, size-1 and -old N to the
//     checkpoint size (and TreeHash(N) == -old-hash if given).
//
// On success it prints
//
//	ok: size=S entries_checked=E consistency_checked=C
//
// and exits 0. On failure it prints "FAIL: <reason>" and exits 1.
// With -expect-fail the exit code is inverted (0 iff the audit failed).
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	neturl "net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	tileHeight  = 8
	tileWidth   = 1 << tileHeight // 256
	maxBodySize = 64 << 20
)

type config struct {
	base       string
	old        int64
	oldHash    string
	sample     int
	key        string
	keyFile    string
	expectFail bool
	verbose    bool
	timeout    time.Duration
	seed       int64
	noCache    bool
	noXcheck   bool
}

func main() {
	cfg, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "usage error: %v\n", err)
		fmt.Fprintln(os.Stderr, "usage: ledgercheck BASE [-old N] [-old-hash B64] [-sample K] [-key VKEY|-key-file F] [-expect-fail] [-v]")
		os.Exit(2)
	}
	summary, err := run(cfg)
	if err != nil {
		fmt.Printf("FAIL: %v\n", err)
		if cfg.expectFail {
			fmt.Println("expected failure: ok (-expect-fail)")
			os.Exit(0)
		}
		os.Exit(1)
	}
	fmt.Println(summary)
	if cfg.expectFail {
		fmt.Println("FAIL: audit succeeded but -expect-fail was given")
		os.Exit(1)
	}
}

// parseArgs accepts flags before and/or after the positional BASE argument
// (the standard flag package stops at the first non-flag argument).
func parseArgs(args []string) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("ledgercheck", flag.ContinueOnError)
	fs.Int64Var(&cfg.old, "old", -1, "also check consistency with the tree of size `N`")
	fs.StringVar(&cfg.oldHash, "old-hash", "", "expected base64 root hash of the tree of size -old (requires -old)")
	fs.IntVar(&cfg.sample, "sample", 0, "check inclusion proofs only for a deterministic sample of `K` entries (always incl. 0 and size-1); 0 = all")
	fs.StringVar(&cfg.key, "key", "", "verifier key (note format) to trust instead of fetching BASE/ledger/key")
	fs.StringVar(&cfg.keyFile, "key-file", "", "read the verifier key from this file instead of fetching BASE/ledger/key")
	fs.BoolVar(&cfg.expectFail, "expect-fail", false, "invert the exit status: exit 0 only if the audit fails")
	fs.BoolVar(&cfg.verbose, "v", false, "verbose progress on stderr")
	fs.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "per-request HTTP timeout")
	fs.Int64Var(&cfg.seed, "seed", 1, "PRNG seed for -sample")
	fs.BoolVar(&cfg.noCache, "nocache", false, "do not cache authenticated tiles (refetch for every tlog.ReadHashes call)")
	fs.BoolVar(&cfg.noXcheck, "no-tile-crosscheck", false, "debug: rely on tlog.TileHashReader alone, do not compare served tiles with tiles recomputed from the entries")

	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(pos) != 1 {
		return nil, fmt.Errorf("expected exactly one BASE URL argument, got %d", len(pos))
	}
	cfg.base = strings.TrimRight(pos[0], "/")
	if !strings.HasPrefix(cfg.base, "http://") && !strings.HasPrefix(cfg.base, "https://") {
		return nil, fmt.Errorf("BASE must be an http:// or https:// URL, got %q", pos[0])
	}
	if cfg.oldHash != "" && cfg.old < 0 {
		return nil, errors.New("-old-hash requires -old")
	}
	if cfg.sample < 0 {
		return nil, errors.New("-sample must be >= 0")
	}
	if cfg.key != "" && cfg.keyFile != "" {
		return nil, errors.New("-key and -key-file are mutually exclusive")
	}
	return cfg, nil
}

type fetcher struct {
	base    string
	client  *http.Client
	verbose bool
	fetches int
}

func (f *fetcher) get(path string) ([]byte, error) {
	url := f.base + "/ledger/" + path
	f.fetches++
	resp, err := f.client.Get(url)
	if err != nil {
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP status %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBodySize+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading body: %v", url, err)
	}
	if len(data) > maxBodySize {
		return nil, fmt.Errorf("GET %s: body larger than %d bytes", url, maxBodySize)
	}
	if f.verbose {
		fmt.Fprintf(os.Stderr, "GET %s -> %d bytes\n", url, len(data))
	}
	return data, nil
}

// c2spTilePath maps Go's tlog.Tile.Path() ("tile/8/0/x001/234.p/5",
// "tile/8/data/000") to the C2SP tlog-tiles path ("tile/0/x001/234.p/5",
// "tile/entries/000"), i.e. drops the height segment and renames data.
func c2spTilePath(t tlog.Tile) (string, error) {
	if t.H != tileHeight {
		return "", fmt.Errorf("unexpected tile height %d", t.H)
	}
	p := t.Path()
	prefix := fmt.Sprintf("tile/%d/", tileHeight)
	if !strings.HasPrefix(p, prefix) {
		return "", fmt.Errorf("unexpected Go tile path %q", p)
	}
	p = "tile/" + strings.TrimPrefix(p, prefix)
	if t.L == -1 {
		p = "tile/entries/" + strings.TrimPrefix(p, "tile/data/")
	}
	return p, nil
}

// tileReader implements tlog.TileReader over HTTP. Tiles are only cached
// after tlog has authenticated them (SaveTiles); -nocache disables that.
//
// If expect is set, every fetched tile is also compared byte for byte with
// the tile recomputed from the (already root-verified) entries. This is
// defence in depth: x/mod v0.7.0's TileHashReader skips the parent check for
// some child tiles when several tree-hash subtrees fall into the same tile
// (e.g. tree size 600: tile 0/001 is returned unauthenticated).
type tileReader struct {
	f       *fetcher
	noCache bool
	cache   map[tlog.Tile][]byte
	expect  tlog.HashReader
	checked map[tlog.Tile]bool
}

func (r *tileReader) Height() int { return tileHeight }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		if d, ok := r.cache[t]; ok {
			out[i] = d
			continue
		}
		p, err := c2spTilePath(t)
		if err != nil {
			return nil, err
		}
		d, err := r.f.get(p)
		if err != nil {
			return nil, fmt.Errorf("fetching hash tile: %v", err)
		}
		if len(d) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("hash tile %s has %d bytes, want %d (width %d * 32)", p, len(d), t.W*tlog.HashSize, t.W)
		}
		if r.expect != nil {
			want, err := tlog.ReadTileData(t, r.expect)
			if err != nil {
				return nil, fmt.Errorf("recomputing hash tile %s from entries: %v", p, err)
			}
			if !bytes.Equal(d, want) {
				return nil, fmt.Errorf("hash tile %s differs from the tile recomputed from the entries (which match the signed root)", p)
			}
			r.checked[t] = true
		}
		out[i] = d
	}
	return out, nil
}

func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	if r.noCache {
		return
	}
	for i, t := range tiles {
		r.cache[t] = data[i]
	}
}

type checkpoint struct {
	origin     string
	size       int64
	hash       tlog.Hash
	extensions []string
}

// parseCheckpoint parses the body of a C2SP tlog-checkpoint (the note text).
func parseCheckpoint(text string) (*checkpoint, error) {
	if !strings.HasSuffix(text, "\n") {
		return nil, errors.New("checkpoint text does not end in newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return nil, fmt.Errorf("checkpoint has %d lines, want at least 3 (origin, size, hash)", len(lines))
	}
	c := &checkpoint{origin: lines[0], extensions: lines[3:]}
	if c.origin == "" {
		return nil, errors.New("checkpoint origin line is empty")
	}
	s := lines[1]
	if s == "" || strings.TrimLeft(s, "0123456789") != "" || (len(s) > 1 && s[0] == '0') {
		return nil, fmt.Errorf("checkpoint size line %q is not a canonical decimal number", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("checkpoint size line %q: %v", s, err)
	}
	c.size = n
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize || base64.StdEncoding.EncodeToString(h) != lines[2] {
		return nil, fmt.Errorf("checkpoint root hash line %q is not canonical base64 of 32 bytes", lines[2])
	}
	copy(c.hash[:], h)
	for i, e := range c.extensions {
		if e == "" {
			return nil, fmt.Errorf("checkpoint extension line %d is empty", i+1)
		}
	}
	return c, nil
}

// splitBundle splits a C2SP entry bundle into exactly want entries.
func splitBundle(data []byte, want int) ([][]byte, error) {
	var entries [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, fmt.Errorf("truncated length prefix after %d entries", len(entries))
		}
		n := int(binary.BigEndian.Uint16(data))
		data = data[2:]
		if len(data) < n {
			return nil, fmt.Errorf("entry %d: length prefix %d but only %d bytes remain", len(entries), n, len(data))
		}
		entries = append(entries, data[:n])
		data = data[n:]
	}
	if len(entries) != want {
		return nil, fmt.Errorf("bundle contains %d entries, want %d", len(entries), want)
	}
	return entries, nil
}

func emptyTreeHash() tlog.Hash { return tlog.Hash(sha256.Sum256(nil)) }

func run(cfg *config) (string, error) {
	f := &fetcher{base: cfg.base, client: &http.Client{Timeout: cfg.timeout}, verbose: cfg.verbose}
	logf := func(format string, args ...interface{}) {
		if cfg.verbose {
			fmt.Fprintf(os.Stderr, format+"\n", args...)
		}
	}

	// 1. Key and checkpoint.
	var vkey string
	switch {
	case cfg.key != "":
		vkey = cfg.key
	case cfg.keyFile != "":
		b, err := os.ReadFile(cfg.keyFile)
		if err != nil {
			return "", fmt.Errorf("reading -key-file: %v", err)
		}
		vkey = string(b)
	default:
		b, err := f.get("key")
		if err != nil {
			return "", fmt.Errorf("fetching verifier key: %v", err)
		}
		vkey = string(b)
	}
	vkey = strings.TrimSpace(vkey)
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return "", fmt.Errorf("bad verifier key %q: %v", vkey, err)
	}
	logf("verifier: name=%q keyhash=%08x", verifier.Name(), verifier.KeyHash())

	msg, err := f.get("checkpoint")
	if err != nil {
		return "", fmt.Errorf("fetching checkpoint: %v", err)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		var unv *note.UnverifiedNoteError
		var inv *note.InvalidSignatureError
		switch {
		case errors.As(err, &unv):
			var names []string
			for _, s := range unv.Note.UnverifiedSigs {
				names = append(names, fmt.Sprintf("%s/%08x", s.Name, s.Hash))
			}
			return "", fmt.Errorf("checkpoint signature does not verify: no signature from key %s/%08x (signatures present: %s)",
				verifier.Name(), verifier.KeyHash(), strings.Join(names, ", "))
		case errors.As(err, &inv):
			return "", fmt.Errorf("checkpoint signature does not verify: invalid signature by %s/%08x", inv.Name, inv.Hash)
		default:
			return "", fmt.Errorf("checkpoint signature does not verify: %v", err)
		}
	}
	signed := false
	for _, s := range n.Sigs {
		if s.Name == verifier.Name() && s.Hash == verifier.KeyHash() {
			signed = true
		}
	}
	if !signed {
		return "", errors.New("checkpoint signature does not verify: no verified signature from the log key")
	}
	cp, err := parseCheckpoint(n.Text)
	if err != nil {
		return "", fmt.Errorf("bad checkpoint: %v", err)
	}
	if cp.origin != verifier.Name() {
		return "", fmt.Errorf("checkpoint origin %q does not match key name %q", cp.origin, verifier.Name())
	}
	size, root := cp.size, cp.hash
	logf("checkpoint: origin=%q size=%d root=%s extensions=%d", cp.origin, size, root, len(cp.extensions))

	var oldHash tlog.Hash
	if cfg.oldHash != "" {
		b, err := base64.StdEncoding.DecodeString(cfg.oldHash)
		if err != nil || len(b) != tlog.HashSize {
			return "", fmt.Errorf("-old-hash %q is not base64 of 32 bytes", cfg.oldHash)
		}
		copy(oldHash[:], b)
	}
	if cfg.old > size {
		return "", fmt.Errorf("checkpoint size %d is smaller than -old %d (log shrank / rollback)", size, cfg.old)
	}

	if size == 0 {
		if root != emptyTreeHash() {
			return "", fmt.Errorf("empty tree root hash is %s, want SHA-256(\"\") = %s", root, emptyTreeHash())
		}
		if cfg.oldHash != "" && oldHash != emptyTreeHash() {
			return "", fmt.Errorf("-old-hash for size 0 is %s, want %s", oldHash, emptyTreeHash())
		}
		c := 0
		if cfg.old == 0 {
			c = 1
		}
		return fmt.Sprintf("ok: size=0 entries_checked=0 consistency_checked=%d", c), nil
	}

	// 2. Entry bundles.
	entries := make([][]byte, 0, size)
	for idx := int64(0); idx*tileWidth < size; idx++ {
		w := size - idx*tileWidth
		if w > tileWidth {
			w = tileWidth
		}
		t := tlog.Tile{H: tileHeight, L: -1, N: idx, W: int(w)}
		p, err := c2spTilePath(t)
		if err != nil {
			return "", err
		}
		data, err := f.get(p)
		if err != nil {
			return "", fmt.Errorf("fetching entry bundle: %v", err)
		}
		es, err := splitBundle(data, int(w))
		if err != nil {
			return "", fmt.Errorf("entry bundle %s: %v", p, err)
		}
		entries = append(entries, es...)
	}
	if int64(len(entries)) != size {
		return "", fmt.Errorf("got %d entries, want %d", len(entries), size)
	}

	// Independently of the tiles: the entries must hash (RFC 6962, via
	// tlog.StoredHashes/TreeHash) to the signed root.
	var local []tlog.Hash
	lhr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x < 0 || x >= int64(len(local)) {
				return nil, fmt.Errorf("local hash index %d out of range", x)
			}
			out[i] = local[x]
		}
		return out, nil
	})
	for i, e := range entries {
		hs, err := tlog.StoredHashes(int64(i), e, lhr)
		if err != nil {
			return "", fmt.Errorf("hashing entry %d: %v", i, err)
		}
		local = append(local, hs...)
	}
	lroot, err := tlog.TreeHash(size, lhr)
	if err != nil {
		return "", fmt.Errorf("computing tree hash from entries: %v", err)
	}
	if lroot != root {
		return "", fmt.Errorf("entries hash to root %s, but the signed checkpoint says %s", lroot, root)
	}

	// 3. Tile-backed, authenticated hash reader.
	tr := &tileReader{f: f, noCache: cfg.noCache, cache: make(map[tlog.Tile][]byte), checked: make(map[tlog.Tile]bool)}
	if !cfg.noXcheck {
		tr.expect = lhr
	}
	tree := tlog.Tree{N: size, Hash: root}
	hr := tlog.TileHashReader(tree, tr)

	// Sanity: the tiles reproduce the signed root (TileHashReader also checks
	// this on every read).
	th, err := tlog.TreeHash(size, hr)
	if err != nil {
		return "", fmt.Errorf("computing tree hash from tiles: %v", err)
	}
	if th != root {
		return "", fmt.Errorf("tree hash from tiles %s != checkpoint root %s", th, root)
	}
	if !cfg.noXcheck {
		// Every tile a client of this tree size may ask for: all full tiles
		// and the one partial tile per level whose width matches the size.
		for _, t := range tlog.NewTiles(tileHeight, 0, size) {
			if t.W != tileWidth && int64(t.W) != size>>uint(tileHeight*t.L)-t.N<<tileHeight {
				continue
			}
			if tr.checked[t] {
				continue
			}
			if _, err := tr.ReadTiles([]tlog.Tile{t}); err != nil {
				return "", err
			}
		}
		logf("all %d hash tiles match the tiles recomputed from the entries", len(tr.checked))
	}

	// Every entry's leaf hash must equal the authenticated level-0 hash.
	// Done one tile's worth at a time.
	for lo := int64(0); lo < size; lo += tileWidth {
		hi := lo + tileWidth
		if hi > size {
			hi = size
		}
		idxs := make([]int64, 0, hi-lo)
		for i := lo; i < hi; i++ {
			idxs = append(idxs, tlog.StoredHashIndex(0, i))
		}
		hs, err := hr.ReadHashes(idxs)
		if err != nil {
			return "", fmt.Errorf("reading leaf hashes %d..%d: %v", lo, hi-1, err)
		}
		for i := lo; i < hi; i++ {
			if got := tlog.RecordHash(entries[i]); got != hs[i-lo] {
				return "", fmt.Errorf("entry %d: leaf hash %s does not match hash tile %s", i, got, hs[i-lo])
			}
		}
	}

	// Inclusion proofs.
	var check []int64
	if cfg.sample == 0 || int64(cfg.sample) >= size {
		for i := int64(0); i < size; i++ {
			check = append(check, i)
		}
	} else {
		set := map[int64]bool{0: true, size - 1: true}
		rng := rand.New(rand.NewSource(cfg.seed))
		for len(set) < cfg.sample {
			set[rng.Int63n(size)] = true
		}
		for i := range set {
			check = append(check, i)
		}
		sort.Slice(check, func(a, b int) bool { return check[a] < check[b] })
	}
	for _, i := range check {
		leaf := tlog.RecordHash(entries[i])
		proof, err := tlog.ProveRecord(size, i, hr)
		if err != nil {
			return "", fmt.Errorf("ProveRecord(%d, %d): %v", size, i, err)
		}
		if err := tlog.CheckRecord(proof, size, root, i, leaf); err != nil {
			return "", fmt.Errorf("CheckRecord for entry %d: %v", i, err)
		}
	}
	logf("inclusion proofs verified for %d entries", len(check))

	// 4. Consistency proofs.
	olds := map[int64]bool{}
	for _, o := range []int64{1, size / 2, size - 1} {
		if o >= 1 && o < size {
			olds[o] = true
		}
	}
	if cfg.old >= 0 {
		olds[cfg.old] = true
	}
	var oldList []int64
	for o := range olds {
		oldList = append(oldList, o)
	}
	sort.Slice(oldList, func(a, b int) bool { return oldList[a] < oldList[b] })
	for _, o := range oldList {
		var h tlog.Hash
		if o == 0 {
			h = emptyTreeHash()
		} else {
			h, err = tlog.TreeHash(o, hr)
			if err != nil {
				return "", fmt.Errorf("TreeHash(%d): %v", o, err)
			}
			if o < size {
				proof, err := tlog.ProveTree(size, o, hr)
				if err != nil {
					return "", fmt.Errorf("ProveTree(%d, %d): %v", size, o, err)
				}
				if err := tlog.CheckTree(proof, size, root, o, h); err != nil {
					return "", fmt.Errorf("CheckTree(size %d, old %d): %v", size, o, err)
				}
			} else if h != root {
				return "", fmt.Errorf("tree hash at %d is %s, checkpoint says %s", o, h, root)
			}
		}
		logf("consistency %d -> %d ok (old hash %s)", o, size, h)
		if o == cfg.old && cfg.oldHash != "" && h != oldHash {
			return "", fmt.Errorf("tree hash at -old %d is %s, but -old-hash is %s (log is not an extension of that tree)", o, h, oldHash)
		}
	}
	logf("http requests: %d", f.fetches)

	return fmt.Sprintf("ok: size=%d entries_checked=%d consistency_checked=%d", size, len(check), len(oldList)), nil
}
