//go:build unix

package kv

import (
	"bytes"
	"fmt"
	"testing"
)

// TestPendingRepair leaves a committed but unapplied write, as a writer killed
// right after its commit point does, and checks what everyone then sees:
// readers see the old state, a read-only check calls it legal, and the next
// writer finishes it.
func TestPendingRepair(t *testing.T) {
	db, path := openTemp(t, nil)
	for i := 0; i < 100; i++ {
		db.Put([]byte(fmt.Sprint("k", i)), []byte("old"))
	}
	testStopAfterCommitPoint = func() bool { return true }
	err := db.Update(func(tx *Tx) error {
		for i := 0; i < 100; i++ {
			if err := tx.Put([]byte(fmt.Sprint("k", i)), bytes.Repeat([]byte("new"), i)); err != nil {
				return err
			}
		}
		return tx.Delete([]byte("k0"))
	})
	testStopAfterCommitPoint = nil
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	ro, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if !ro.Stats().PendingRepair {
		t.Fatal("Stats.PendingRepair is false with a committed, unapplied log")
	}
	if err := ro.Check(); err != nil {
		t.Fatalf("read-only Check on a pending repair: %v", err)
	}
	if v, _ := ro.Get([]byte("k5")); string(v) != "old" {
		t.Fatalf("a reader saw %q before the repair", v)
	}

	rw, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	if err := rw.Put([]byte("next"), []byte("writer")); err != nil {
		t.Fatal(err)
	}
	if rw.Stats().PendingRepair || rw.repairs.Load() != 1 {
		t.Fatalf("the next writer did not finish the repair (repairs %d)", rw.repairs.Load())
	}
	for i := 1; i < 100; i++ {
		if v, err := ro.Get([]byte(fmt.Sprint("k", i))); err != nil || !bytes.Equal(v, bytes.Repeat([]byte("new"), i)) {
			t.Fatalf("after the repair k%d = %q, %v", i, v, err)
		}
	}
	if _, err := ro.Get([]byte("k0")); err == nil {
		t.Fatal("the repaired Update's Delete did not land")
	}
	if err := rw.Check(); err != nil {
		t.Fatal(err)
	}
}
