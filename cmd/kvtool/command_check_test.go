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

// pendRepair leaves path as a writer killed right after its log was complete
// would: a committed redo log that nobody has applied. It writes the log by
// hand from docs/format.md ("The redo log"): the log of the transaction after
// the last applied one, in that transaction's region, whose only change
// besides its sequence words is the commit counter.
func pendRepair(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	const (
		hdrLogPages = 48
		hdrApplied  = 136
		hdrApplying = 176
		hdrCommits  = 240
	)
	logPages := uint64(le.Uint32(b[hdrLogPages:]))
	seq := le.Uint64(b[hdrApplied:]) + 1
	region := 4096 * (1 + seq%2*logPages)
	var payload []byte
	for _, e := range [][2]uint64{{hdrApplying, seq}, {hdrCommits, le.Uint64(b[hdrCommits:]) + 1}, {hdrApplied, seq}} {
		payload = le.AppendUint64(le.AppendUint64(payload, e[0]), e[1])
	}
	head := b[region : region+64]
	le.PutUint64(head[0:], 0x32676f6c766b706d) // the log's magic, "mpkvlog2"
	le.PutUint64(head[8:], seq)
	le.PutUint64(head[16:], 3) // three entries, no extents
	le.PutUint64(head[24:], 0) // no overflow pages
	le.PutUint64(head[32:], xxhash.Sum64(append(append([]byte{}, head[8:32]...), payload...)))
	copy(b[region+64:], payload)
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
