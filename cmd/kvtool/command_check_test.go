package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/mapkv/mapkv/kv"
)

func TestCheckOK(t *testing.T) {
	t.Parallel()
	path := newDB(t, awkwardPairs())
	if r := kvtool(t, nil, "check", path).want(t, exitOK); r.stdout != "ok\n" || r.stderr != "" {
		t.Errorf("check: stdout %q, stderr %q", r.stdout, r.stderr)
	}
}

// damage flips bytes in the middle of every page of path after the first
// few, where the header, the log and the start of the slot table live.
func damage(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for off := 8 * kv.PageSize; off+kv.PageSize <= len(b); off += kv.PageSize {
		for i := kv.PageSize / 2; i < kv.PageSize/2+16; i++ {
			b[off+i] ^= 0xa5
		}
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCheckDamaged(t *testing.T) {
	t.Parallel()
	pairs := map[string]string{}
	for i := range 2000 {
		pairs[fmt.Sprint("key-", i)] = strings.Repeat(fmt.Sprint(i), 30)
	}
	orig := newDB(t, pairs)
	b, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "damaged.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	damage(t, path)
	kvtool(t, nil, "check", orig).want(t, exitOK)
	r := kvtool(t, nil, "check", path).want(t, exitFalse)
	r.oneLine(t, "is damaged", "problem")
	if !strings.Contains(r.stdout, "page ") || !strings.Contains(r.stdout, "offset ") {
		t.Errorf("check does not say where the damage is:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "problem(s)") {
		t.Errorf("check printed kv's header line:\n%s", r.stdout)
	}
	// The other read commands fail or succeed, but do not crash (kvtool
	// checks stderr for panics).
	for _, args := range [][]string{{"get", path, "key-1"}, {"list", path}, {"dump", path}, {"stat", path}} {
		r := kvtool(t, nil, args...)
		if r.code != exitOK && r.code != exitFalse {
			r.want(t, exitError)
		}
	}
}

func TestCheckForeignFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "foreign")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database\n", 10000)), 0o600); err != nil {
		t.Fatal(err)
	}
	r := kvtool(t, nil, "check", path).want(t, exitFalse)
	r.oneLine(t, "is not a mapkv file")
	if strings.Contains(r.stderr, "snapshot") || r.stdout == "" {
		t.Errorf("check of a foreign file: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	kvtool(t, nil, "get", path, "k").want(t, exitError).oneLine(t, "is not a mapkv file")
}

func TestCheckMissingFile(t *testing.T) {
	t.Parallel()
	kvtool(t, nil, "check", filepath.Join(t.TempDir(), "missing")).want(t, exitError).oneLine(t, "does not exist")
}

// pendRepair leaves path as a writer killed right after its commit point
// would: a committed redo log that nobody has applied. It writes the log by
// hand from docs/format.md ("The redo log region"), with one entry that
// deletes nothing and changes only the commit counter.
func pendRepair(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	const (
		hdrPendingLog = 136
		hdrLogOff     = 176
		hdrCommits    = 240
	)
	logOff := le.Uint64(b[hdrLogOff:])
	entry := make([]byte, 16)
	le.PutUint64(entry, hdrCommits)
	le.PutUint64(entry[8:], le.Uint64(b[hdrCommits:])+1)
	copy(b[logOff+64:], entry)
	le.PutUint64(b[logOff:], 0x31306c766b706d) // the log's magic
	le.PutUint64(b[logOff+8:], 1)              // one entry
	le.PutUint64(b[logOff+16:], xxhash.Sum64(entry))
	le.PutUint64(b[hdrPendingLog:], logOff)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCheckPendingRepair(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"a": "1", "b": "2"})
	pendRepair(t, path)
	r := kvtool(t, nil, "check", path).want(t, exitOK)
	if !strings.Contains(r.stdout, "pending repair") {
		t.Errorf("check of a file with a committed, unapplied write: stdout %q", r.stdout)
	}
	if r := kvtool(t, nil, "stat", path).want(t, exitOK); !strings.Contains(r.stdout, "pending repair:  yes") {
		t.Errorf("stat does not report the pending repair:\n%s", r.stdout)
	}
	// The next writer finishes it; then nothing is pending.
	kvtool(t, nil, "put", path, "c", "3").want(t, exitOK)
	if r := kvtool(t, nil, "check", path).want(t, exitOK); strings.Contains(r.stdout, "pending") {
		t.Errorf("after the next write check still says %q", r.stdout)
	}
}
