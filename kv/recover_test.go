//go:build unix

package kv

import (
	"bytes"
	"errors"
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

// TestReopenAfterAbandonedWriteIntoFreedSpace: a committed Update writes a
// key twice, so its first record is freed by the same commit, and with it its
// slab page; a later Update that fails writes a chain into that free page,
// over the words the committed log cleared. Nothing of it
// committed, so the next Open must change nothing: it once took the
// committed log for one whose flush never completed (its freed record no
// longer hashed as the log said), erased it and applied the log before it,
// which undid the newer one's words (found by FuzzOps).
func TestReopenAfterAbandonedWriteIntoFreedSpace(t *testing.T) {
	db, path := openTemp(t, nil)
	for i := 0; i < 20; i++ {
		db.Put([]byte(fmt.Sprint("k", i)), bytes.Repeat([]byte{byte(i)}, 100))
	}
	err := db.Update(func(tx *Tx) error {
		// A record in a slab page of its own (no other value has its size
		// class), freed below by the same commit: the page goes back to the
		// free list, its words cleared through the log.
		tx.Put([]byte("twice"), bytes.Repeat([]byte("A"), 1500))
		tx.Delete([]byte("k3"))
		return tx.Put([]byte("twice"), []byte("short"))
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *Tx) error {
		tx.Put([]byte("abandoned"), bytes.Repeat([]byte{0x18}, 9000)) // into the freed pages
		return errAbandon
	})
	if !errors.Is(err, errAbandon) {
		t.Fatal(err)
	}
	before := db.Stats()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatalf("Check after reopening: %v", err)
	}
	after := db.Stats()
	if after.Keys != before.Keys || after.FreeBytes != before.FreeBytes {
		t.Fatalf("reopening changed the store: %d keys, %d free bytes before; %d, %d after", before.Keys, before.FreeBytes, after.Keys, after.FreeBytes)
	}
	if v, err := db.Get([]byte("twice")); err != nil || string(v) != "short" {
		t.Fatalf("Get(twice) = %q, %v", v, err)
	}
	if _, err := db.Get([]byte("k3")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(k3) after its committed Delete = %v", err)
	}
	if _, err := db.Get([]byte("abandoned")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the abandoned write is visible: %v", err)
	}
}
