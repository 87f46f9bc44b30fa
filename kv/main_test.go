//go:build unix

package kv

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mapkv/mapkv/internal/powerloss"
	"github.com/mapkv/mapkv/internal/testproc"
)

// TestMain runs a child process's role (internal/testproc), or the tests,
// and then removes the benchmark file.
func TestMain(m *testing.M) {
	testproc.Register(powerloss.LauncherRole, powerloss.Launch)
	testproc.Register(plWriterRole, runPLWriter)
	testproc.Register(plCheckerRole, runPLChecker)
	testproc.RunChild()
	code := m.Run()
	if benchDB != nil {
		st := benchDB.Stats()
		fmt.Fprintf(os.Stderr, "bench file: %d keys, %d bytes (%.2fx the %d raw key+value bytes), %d slots\n",
			st.Keys, st.FileSize, float64(st.FileSize)/float64(benchKeys*(16+benchVal)), benchKeys*(16+benchVal), st.Slots)
		benchDB.Close()
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// openTemp opens a new store with options o in a file of a fresh temporary
// directory, closes it when the test ends, and returns it with the file's
// path. It is internal/kvtest.OpenTemp for kv's own tests, which cannot
// import a package that imports kv.
func openTemp(tb testing.TB, o *Options) (*DB, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "t.kv")
	db, err := Open(path, o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, path
}

// noPanic runs fn and turns a panic into a test failure naming what, so one
// crash does not hide the other cases.
func noPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s panicked: %v", what, r)
		}
	}()
	fn()
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}
