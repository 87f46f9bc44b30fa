//go:build unix

// Closed and read-only handles: what every method returns, and the file left
// as it was.

package kv

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestClosedHandle: after Close every method returns ErrClosed without
// touching the file, Stats is zero, and Close again is nil, on a read-write
// and on a read-only handle.
func TestClosedHandle(t *testing.T) {
	db, path := openTemp(t, nil)
	db.Put([]byte("a"), []byte("1"))
	var kept *Tx
	db.Update(func(tx *Tx) error { kept = tx; return nil })
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before := fileSum(t, path)
	ran := false
	dst := filepath.Join(t.TempDir(), "snap.kv")
	calls := map[string]error{
		"Get": func() error { v, err := db.Get([]byte("a")); ranIf(&ran, v != nil); return err }(),
		"AppendGet": func() error {
			v, err := db.AppendGet([]byte("x"), []byte("a"))
			ranIf(&ran, string(v) != "x")
			return err
		}(),
		"Put":      db.Put([]byte("a"), []byte("2")),
		"Delete":   db.Delete([]byte("a")),
		"Update":   db.Update(func(*Tx) error { ran = true; return nil }),
		"ForEach":  db.ForEach(func(k, v []byte) error { ran = true; return nil }),
		"Check":    db.Check(),
		"Sync":     db.Sync(),
		"Snapshot": db.Snapshot(dst),
		"Compact":  db.SnapshotWith(dst, SnapshotOptions{Compact: true}),
		"Tx.Get":   func() error { _, err := kept.Get([]byte("a")); return err }(),
		"Tx.Put":   kept.Put([]byte("a"), nil),
		"Tx.Del":   kept.Delete([]byte("a")),
	}
	for name, err := range calls {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	if ran {
		t.Error("a callback ran or a value was returned on a closed handle")
	}
	if st := db.Stats(); st != (Stats{}) {
		t.Errorf("Stats after Close = %+v, want zero", st)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if db.Path() != path {
		t.Errorf("Path after Close = %q", db.Path())
	}
	if _, err := os.Lstat(dst); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a snapshot of a closed handle left %s: %v", dst, err)
	}
	if fileSum(t, path) != before {
		t.Error("calls on a closed handle changed the file")
	}
	ro, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.Close(); err != nil {
		t.Fatalf("read-only Close = %v", err)
	}
	if err := ro.Close(); err != nil {
		t.Errorf("second read-only Close = %v", err)
	}
	if _, err := ro.Get([]byte("a")); !errors.Is(err, ErrClosed) {
		t.Errorf("read-only Get after Close = %v, want ErrClosed", err)
	}
}

func ranIf(ran *bool, cond bool) {
	if cond {
		*ran = true
	}
}

// TestReadOnlyHandle: writes are refused with ErrReadOnly before fn runs;
// reads, Check, Stats and Snapshot work; nothing changes a byte of the file;
// beside a read-write handle of the same process it reads that handle's
// writes and refuses its own.
func TestReadOnlyHandle(t *testing.T) {
	db, path := openTemp(t, nil)
	for i := 0; i < 300; i++ {
		db.Put([]byte(fmt.Sprint("k", i)), bytes.Repeat([]byte{byte(i)}, i*20))
	}
	db.Close()
	before := fileSum(t, path)
	ro, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	ran := false
	for name, err := range map[string]error{
		"Put":    ro.Put([]byte("k1"), []byte("x")),
		"Delete": ro.Delete([]byte("k1")),
		"Update": ro.Update(func(*Tx) error { ran = true; return nil }),
	} {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("read-only %s = %v, want ErrReadOnly", name, err)
		}
	}
	if ran {
		t.Error("a read-only Update ran fn")
	}
	if v, err := ro.Get([]byte("k7")); err != nil || len(v) != 140 {
		t.Errorf("read-only Get = %d bytes, %v", len(v), err)
	}
	n := 0
	if err := ro.ForEach(func(k, v []byte) error { n++; return nil }); err != nil || n != 300 {
		t.Errorf("read-only ForEach: %d keys, %v", n, err)
	}
	if err := ro.Check(); err != nil {
		t.Errorf("read-only Check = %v", err)
	}
	if err := ro.Sync(); err != nil {
		t.Errorf("read-only Sync = %v", err)
	}
	if st := ro.Stats(); st.Keys != 300 || st.WriterPID != 0 {
		t.Errorf("read-only Stats = %+v", st)
	}
	snap := filepath.Join(t.TempDir(), "snap.kv")
	if err := ro.Snapshot(snap); err != nil {
		t.Errorf("read-only Snapshot = %v", err)
	}
	if fileSum(t, path) != before {
		t.Error("a read-only handle changed the file")
	}
	// A read-only Open never creates or initialises a file.
	empty := filepath.Join(t.TempDir(), "empty.kv")
	os.WriteFile(empty, nil, 0o600)
	if _, err := Open(empty, &Options{ReadOnly: true}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("read-only Open(empty file) = %v, want ErrCorrupt", err)
	}
	if st, _ := os.Stat(empty); st.Size() != 0 {
		t.Errorf("read-only Open wrote %d bytes into an empty file", st.Size())
	}
	rw, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	if err := rw.Put([]byte("a"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	beside, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer beside.Close()
	if v, err := beside.Get([]byte("a")); err != nil || string(v) != "1" {
		t.Errorf("read-only Get beside a writer = %q, %v", v, err)
	}
	ran = false
	for name, err := range map[string]error{
		"Put":    beside.Put([]byte("a"), []byte("2")),
		"Delete": beside.Delete([]byte("a")),
		"Update": beside.Update(func(*Tx) error { ran = true; return nil }),
	} {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("read-only %s beside a writer = %v, want ErrReadOnly", name, err)
		}
	}
	if ran {
		t.Error("a read-only Update beside a writer ran fn")
	}
	if err := beside.Sync(); err != nil {
		t.Errorf("read-only Sync beside a writer = %v", err)
	}
}
