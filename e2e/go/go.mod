// Module-mode alternative to the GOPATH-mode build used by run-ledgercheck.sh.
// The replace points at the Debian package golang-golang-x-mod-dev (x/mod
// 0.7.0 sources); no network or go.sum is needed for a directory replacement.
module e2e-go-ledgercheck

go 1.19

require golang.org/x/mod v0.7.0

replace golang.org/x/mod => /usr/share/gocode/src/golang.org/x/mod
