// Command fakelog writes a small static C2SP transparency log (signed
// checkpoint, verifier key, hash tiles, entry bundles) into a directory, in
// the layout ledgercheck expects under BASE/ledger/. It exists only to test
// ledgercheck before the real server is available:
//
//	fakelog -dir /tmp/fake -n 600
//	(cd /tmp/fake && python3 -m http.server 8765)
//	ledgercheck http://127.0.0.1:8765
//
// Files written (DIR/ledger/...):
//
//	key                                  verifier key (note.NewVerifier format)
//	checkpoint                           signed checkpoint (origin, size, root hash)
//	tile/<L>/<N>[.p/<W>]                 hash tiles (height 8)
//	tile/entries/<N>[.p/<W>]             entry bundles (uint16 BE length || entry)
//
// plus DIR/wrong.vkey: a verifier key with the same name but a different
// Ed25519 key (for negative tests), and DIR/hashes.txt with "size base64hash"
// for every size listed in -hash-at.
//
// Like a real server, it only writes the partial tiles a client of the
// current tree size needs (one partial width per level) unless
// -all-partials is given.
package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	mrand "math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const tileHeight = 8

func main() {
	dir := flag.String("dir", "", "output directory (required)")
	n := flag.Int64("n", 600, "number of entries")
	origin := flag.String("origin", "example.com/fakelog", "log origin (= key name)")
	allPartials := flag.Bool("all-partials", false, "also write every smaller partial tile width (tlog.NewTiles(8, 0, n))")
	hashAt := flag.String("hash-at", "", "comma-separated tree sizes whose root hashes to write to DIR/hashes.txt")
	ext := flag.String("ext", "", "optional extension line to append to the checkpoint body")
	seed := flag.Int64("seed", 42, "seed for the entry contents")
	flag.Parse()
	if *dir == "" || *n < 0 {
		flag.Usage()
		os.Exit(2)
	}
	log.SetFlags(0)
	log.SetPrefix("fakelog: ")

	// Entries: deterministic, varying lengths, including an empty entry and
	// a few larger ones to exercise the uint16 length prefix.
	rng := mrand.New(mrand.NewSource(*seed))
	entries := make([][]byte, *n)
	for i := range entries {
		var e []byte
		switch {
		case i == 1:
			e = []byte{}
		case i%97 == 5:
			e = make([]byte, 300+rng.Intn(2000))
			rng.Read(e)
		default:
			e = []byte(fmt.Sprintf("{\"seq\":%d,\"event\":\"fake-%x\"}", i, rng.Int63()))
		}
		entries[i] = e
	}

	// Stored hashes, as tlog computes them.
	var hashes []tlog.Hash
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x < 0 || x >= int64(len(hashes)) {
				return nil, fmt.Errorf("hash index %d out of range", x)
			}
			out[i] = hashes[x]
		}
		return out, nil
	})
	for i, e := range entries {
		h, err := tlog.StoredHashes(int64(i), e, hr)
		if err != nil {
			log.Fatal(err)
		}
		hashes = append(hashes, h...)
	}
	root := tlog.Hash(sha256.Sum256(nil)) // RFC 6962 empty tree
	if *n > 0 {
		var err error
		if root, err = tlog.TreeHash(*n, hr); err != nil {
			log.Fatal(err)
		}
	}

	ledger := filepath.Join(*dir, "ledger")
	write := func(rel string, data []byte) {
		p := filepath.Join(ledger, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	c2sp := func(t tlog.Tile) string {
		p := strings.Replace(t.Path(), fmt.Sprintf("tile/%d/", tileHeight), "tile/", 1)
		if t.L == -1 {
			p = strings.Replace(p, "tile/data/", "tile/entries/", 1)
		}
		return p
	}

	// Hash tiles.
	nTiles := 0
	for _, t := range tlog.NewTiles(tileHeight, 0, *n) {
		levelN := *n >> uint(tileHeight*t.L)
		finalW := int(levelN - t.N<<tileHeight)
		if t.W != 1<<tileHeight && t.W != finalW && !*allPartials {
			continue // a client of tree size n never asks for this width
		}
		data, err := tlog.ReadTileData(t, hr)
		if err != nil {
			log.Fatal(err)
		}
		write(c2sp(t), data)
		nTiles++
	}

	// Entry bundles.
	nBundles := 0
	bundle := func(idx int64, w int) {
		var b []byte
		for _, e := range entries[idx<<tileHeight : idx<<tileHeight+int64(w)] {
			if len(e) > 0xffff {
				log.Fatalf("entry too long")
			}
			b = binary.BigEndian.AppendUint16(b, uint16(len(e)))
			b = append(b, e...)
		}
		write(c2sp(tlog.Tile{H: tileHeight, L: -1, N: idx, W: w}), b)
		nBundles++
	}
	for idx := int64(0); idx<<tileHeight < *n; idx++ {
		w := *n - idx<<tileHeight
		if w > 1<<tileHeight {
			w = 1 << tileHeight
		}
		bundle(idx, int(w))
		if *allPartials && w < 1<<tileHeight {
			for ww := 1; ww < int(w); ww++ {
				bundle(idx, ww)
			}
		}
	}

	// Key and signed checkpoint.
	skey, vkey, err := note.GenerateKey(rand.Reader, *origin)
	if err != nil {
		log.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		log.Fatal(err)
	}
	text := fmt.Sprintf("%s\n%d\n%s\n", *origin, *n, base64.StdEncoding.EncodeToString(root[:]))
	if *ext != "" {
		text += *ext + "\n"
	}
	msg, err := note.Sign(&note.Note{Text: text}, signer)
	if err != nil {
		log.Fatal(err)
	}
	write("checkpoint", msg)
	write("key", []byte(vkey+"\n"))

	_, wrong, err := note.GenerateKey(rand.Reader, *origin)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*dir, "wrong.vkey"), []byte(wrong+"\n"), 0o644); err != nil {
		log.Fatal(err)
	}

	// Root hashes at requested sizes, for -old/-old-hash tests.
	var hl []string
	for _, s := range strings.Split(*hashAt, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		k, err := strconv.ParseInt(s, 10, 64)
		if err != nil || k < 1 || k > *n {
			log.Fatalf("bad -hash-at size %q", s)
		}
		h, err := tlog.TreeHash(k, hr)
		if err != nil {
			log.Fatal(err)
		}
		hl = append(hl, fmt.Sprintf("%d %s\n", k, base64.StdEncoding.EncodeToString(h[:])))
	}
	if err := os.WriteFile(filepath.Join(*dir, "hashes.txt"), []byte(strings.Join(hl, "")), 0o644); err != nil {
		log.Fatal(err)
	}

	fmt.Printf("wrote %s: size=%d root=%s hash_tiles=%d entry_bundles=%d key=%s\n",
		ledger, *n, root, nTiles, nBundles, vkey)
}
