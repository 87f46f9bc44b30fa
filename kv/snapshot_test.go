//go:build unix

// Snapshots: a WriteTo copy is a store; a snapshot removes the temporary
// files of dead snapshots.

package kv

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestWriteToIsAStore(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, "a.kv"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; i < 1000; i++ {
		if err := db.Put([]byte(fmt.Sprintf("k%d", i)), bytes.Repeat([]byte{byte(i)}, i%3000)); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	n, err := db.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) || n != db.Stats().FileSize {
		t.Fatalf("WriteTo = %d, %v; wrote %d bytes, file size %d", n, err, buf.Len(), db.Stats().FileSize)
	}
	copyPath := filepath.Join(dir, "b.kv")
	if err := os.WriteFile(copyPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Open(copyPath, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Keys != 1000 || st.WriterPID != 0 {
		t.Fatalf("copy has %d keys, writer pid %d", st.Keys, st.WriterPID)
	}
	v, err := c.Get([]byte("k999"))
	if err != nil || !bytes.Equal(v, bytes.Repeat([]byte{byte(999 % 256)}, 999)) {
		t.Fatalf("copy's k999: %d bytes, %v", len(v), err)
	}
}

// TestSnapshotRemovesAbandonedTemps: a snapshot deletes the temporary files of
// snapshots whose process died, and leaves those of live processes alone.
func TestSnapshotRemovesAbandonedTemps(t *testing.T) {
	db, path := openTemp(t, nil)
	db.Put([]byte("k"), []byte("v"))
	dst := path + ".snap"
	dead := tempPrefix(dst, "tmp") + "999999999-1"
	live := tempPrefix(dst, "tmp") + strconv.Itoa(os.Getppid()) + "-1"
	for _, p := range []string{dead, live} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Snapshot(dst); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatalf("the abandoned temporary file is still there: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatalf("a live process's temporary file was removed: %v", err)
	}
}
