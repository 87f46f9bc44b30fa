// Package kvtest holds the helpers that the test packages outside kv share
// (the root package's multi-process tests, cmd/kvtool, fuzz, lincheck): kv's
// own tests cannot import a package that imports kv, so they keep their own
// openTemp in kv/main_test.go, with the same contract.
package kvtest

import (
	"path/filepath"
	"testing"

	"github.com/mapkv/mapkv/kv"
)

// OpenTemp opens a new store with options o (nil for the defaults) in a file
// of a fresh temporary directory, closes it when the test ends, and returns it
// with the file's path. It fails the test if Open fails.
func OpenTemp(tb testing.TB, o *kv.Options) (*kv.DB, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "test.kv")
	db, err := kv.Open(path, o)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, path
}
