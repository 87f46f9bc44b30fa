//go:build unix

package kv

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// contentsOf opens path read-only, checks it, and returns its pairs.
func contentsOf(t *testing.T, path string) map[string]string {
	t.Helper()
	db, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	got, err := collect(db.All())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// Snapshot, SnapshotCompact and SnapshotWith write the same pairs; the
// compact copy is smaller than the plain one and keeps TTLs; both copy
// methods (the benchmarks' choice) give a store that checks out.
func TestSnapshotForms(t *testing.T) {
	db, path := openTemp(t, nil)
	dir := filepath.Dir(path)
	want := map[string]string{}
	for i := range 2000 {
		k := fmt.Sprint("k", i)
		if err := db.Put([]byte(k), []byte(strings.Repeat("v", 200))); err != nil {
			t.Fatal(err)
		}
		if i%4 != 0 {
			db.Delete([]byte(k)) // leave free space for compaction to drop
		} else {
			want[k] = strings.Repeat("v", 200)
		}
	}
	db.PutTTL([]byte("ttl"), []byte("t"), time.Hour)
	want["ttl"] = "t"

	plain, compact := filepath.Join(dir, "plain"), filepath.Join(dir, "compact")
	if err := db.Snapshot(plain); err != nil {
		t.Fatal(err)
	}
	if err := db.SnapshotCompact(compact); err != nil {
		t.Fatal(err)
	}
	sameMap(t, "Snapshot", contentsOf(t, plain), want)
	sameMap(t, "SnapshotCompact", contentsOf(t, compact), want)
	c, err := Open(compact, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := c.TTL([]byte("ttl")); err != nil || d == NoTTL {
		t.Errorf("the compact copy's TTL = %v, %v", d, err)
	}
	cs := c.Stats()
	c.Close()
	if cs.FileSize >= db.Stats().FileSize {
		t.Errorf("compact copy %d bytes, source %d: not smaller", cs.FileSize, db.Stats().FileSize)
	}

	for name, m := range map[string]copyMethod{"write": copyWrite, "mmap": copyMmap} {
		dst := filepath.Join(dir, name)
		if err := db.SnapshotWith(dst, SnapshotOptions{method: m}); err != nil {
			t.Fatalf("copy method %s: %v", name, err)
		}
		sameMap(t, "copy method "+name, contentsOf(t, dst), want)
	}
}

// An existing destination is refused unless Overwrite; Progress ends at the
// total, in bytes or, compacting, in keys.
func TestSnapshotWithOptions(t *testing.T) {
	db, path := openTemp(t, nil)
	for i := range 3000 {
		db.Put([]byte(fmt.Sprint("k", i)), []byte("value"))
	}
	dst := filepath.Join(filepath.Dir(path), "dst")
	if err := db.Snapshot(dst); err != nil {
		t.Fatal(err)
	}
	if err := db.Snapshot(dst); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Snapshot over an existing file = %v, want fs.ErrExist", err)
	}
	if err := db.SnapshotCompact(dst); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("SnapshotCompact over an existing file = %v, want fs.ErrExist", err)
	}
	for _, compact := range []bool{false, true} {
		var last, total int64
		calls := 0
		o := SnapshotOptions{Compact: compact, Overwrite: true, Progress: func(done, all int64) {
			if done < last {
				t.Errorf("progress went back from %d to %d", last, done)
			}
			last, total = done, all
			calls++
		}}
		if err := db.SnapshotWith(dst, o); err != nil {
			t.Fatal(err)
		}
		wantTotal := db.Stats().FileSize
		if compact {
			wantTotal = 3000
		}
		if calls == 0 || total != wantTotal || last > total {
			t.Errorf("compact %v: %d progress calls, last %d of %d; want the total %d", compact, calls, last, total, wantTotal)
		}
		if got := contentsOf(t, dst); len(got) != 3000 {
			t.Errorf("compact %v: the overwritten copy has %d keys", compact, len(got))
		}
	}
	db.Close()
	if err := db.SnapshotCompact(dst); !errors.Is(err, ErrClosed) {
		t.Errorf("SnapshotCompact on a closed DB = %v, want ErrClosed", err)
	}
}
