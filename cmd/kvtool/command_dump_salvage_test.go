package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// damageValue flips a byte of the one record whose value is value, in the
// file itself: that record's checksum no longer matches.
func damageValue(t *testing.T, path, value string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(b, []byte(value))
	if at < 0 || bytes.Count(b, []byte(value)) != 1 {
		t.Fatalf("value %q is not in %s exactly once", value, path)
	}
	b[at+len(value)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A file with two records damaged on purpose: dump stops at the first with
// exit 2; dump --salvage writes every other record, says that it skipped
// two, exits 1, and load takes its output back.
func TestDumpSalvage(t *testing.T) {
	t.Parallel()
	pairs := map[string]string{}
	for i := range 300 {
		pairs[fmt.Sprintf("key-%03d", i)] = fmt.Sprintf("value-%03d-%s", i, strings.Repeat("x", i%50))
	}
	path := newDB(t, pairs)
	for _, k := range []string{"key-042", "key-250"} {
		damageValue(t, path, pairs[k])
		delete(pairs, k)
	}

	kvtool(t, nil, "dump", path).want(t, exitError).oneLine(t, "is damaged", "kvtool check")

	r := kvtool(t, nil, "dump", "--salvage", path).want(t, exitFalse)
	r.oneLine(t, "skipped 2 damaged records", "wrote 298 records", "kvtool check")
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	kvtool(t, []byte(r.stdout), "load", copyPath).want(t, exitOK)
	sameContents(t, contents(t, copyPath), pairs)

	// --salvage with a filter: the damaged records are still counted.
	r = kvtool(t, nil, "dump", "--salvage", "--prefix", "key-00", path).want(t, exitFalse)
	if n := strings.Count(r.stdout, "\n"); n != 10 {
		t.Errorf("dump --salvage --prefix key-00 wrote %d records, want 10", n)
	}

	// A sound file: --salvage is dump, exit 0, nothing on stderr.
	sound := newDB(t, map[string]string{"a": "1"})
	if r := kvtool(t, nil, "dump", "--salvage", sound).want(t, exitOK); r.stderr != "" || r.stdout != "{\"key\":\"a\",\"value\":\"1\"}\n" {
		t.Errorf("dump --salvage of a sound file: %q, %q", r.stdout, r.stderr)
	}
}
