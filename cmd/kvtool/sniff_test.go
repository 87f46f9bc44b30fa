package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mapkv/mapkv/kv"
)

// withHeader writes a copy of a fresh store's bytes to a new file after
// edit changes them, and returns its path.
func withHeader(t *testing.T, edit func(b []byte)) string {
	t.Helper()
	b, err := os.ReadFile(newDB(t, map[string]string{"k": "v"}))
	if err != nil {
		t.Fatal(err)
	}
	edit(b)
	path := filepath.Join(t.TempDir(), "edited.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// notMapkv tells a file kv cannot use but that is not damaged from a
// damaged one, and from a sound one.
func TestNotMapkvKinds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	zeros := filepath.Join(dir, "zeros")
	os.WriteFile(zeros, make([]byte, 3*kv.PageSize), 0o600)
	for _, tt := range []struct {
		name, path, want string
	}{
		{"sound", newDB(t, map[string]string{"a": "b"}), ""},
		{"zeros", zeros, "initialise it in place"},
		{"foreign", withHeader(t, func(b []byte) { copy(b, "SQLite format 3\x00") }), "is not a mapkv file"},
		{"version 1", withHeader(t, func(b []byte) { binary.LittleEndian.PutUint32(b[hdrVersion:], 1) }), "format version 1; this kvtool reads version"},
		{"newer", withHeader(t, func(b []byte) { binary.LittleEndian.PutUint32(b[hdrVersion:], kv.FormatVersion+1) }), "use a newer kvtool"},
		{"creating", withHeader(t, func(b []byte) { binary.LittleEndian.PutUint64(b[hdrState:], stateCreating) }), "creation did not finish"},
		{"damaged elsewhere", withHeader(t, func(b []byte) { b[kv.PageSize+100] ^= 0xff }), ""},
	} {
		got := notMapkv(tt.path)
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("%s: notMapkv = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// Through the binary: a file of another format version gets the line that
// says how to copy it, from the read commands and from check (exit 1); an
// all-zero file is initialised in place by a write, as the line promises.
func TestOtherVersionAndZeros(t *testing.T) {
	t.Parallel()
	old := withHeader(t, func(b []byte) { binary.LittleEndian.PutUint32(b[hdrVersion:], 1) })
	kvtool(t, nil, "get", old, "k").want(t, exitError).oneLine(t, "format version 1", "dump", "load")
	kvtool(t, nil, "check", old).want(t, exitFalse).oneLine(t, "format version 1")

	zeros := filepath.Join(t.TempDir(), "zeros")
	os.WriteFile(zeros, make([]byte, 2*kv.PageSize), 0o600)
	kvtool(t, nil, "get", zeros, "k").want(t, exitError).oneLine(t, "only zero bytes", "in place")
	kvtool(t, nil, "put", zeros, "k", "v").want(t, exitOK)
	sameContents(t, contents(t, zeros), map[string]string{"k": "v"})
}
