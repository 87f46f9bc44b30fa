//go:build unix

package kv

import (
	"errors"
	"fmt"
	"os"
	"testing"
)

// damageRecord flips the last value byte of key's record through the file
// (not the mapping), as a disk or another program would: the record's
// checksum no longer matches.
func damageRecord(t *testing.T, db *DB, path string, key []byte, vlen int) {
	t.Helper()
	off := slotOf(t, db, key)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	at := int64(off) + recHeader + int64(len(key)) + int64(vlen) - 1
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

// pointOutside makes key's slot point past the end of the file.
func pointOutside(t *testing.T, db *DB, key []byte) {
	t.Helper()
	var pos uint64
	if err := db.Update(func(tx *Tx) error {
		p := tx.t.find(key, hashKey(db.seed, key))
		if !p.found {
			return ErrNotFound
		}
		pos = p.pos
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	db.f.m.Load().store(pos, makeSlot(hashKey(db.seed, key), 1<<36))
}

// A file damaged on purpose: ForEach and All stop at the damage with
// ErrCorrupt; Salvage yields every other pair and counts the two it skipped,
// each once.
func TestSalvageSkipsDamagedRecords(t *testing.T) {
	db, path := openTemp(t, nil)
	const n, vlen = 200, 40
	want := map[string]string{}
	for i := range n {
		k, v := fmt.Sprintf("key%03d", i), fmt.Sprintf("%0*d", vlen, i)
		want[k] = v
	}
	putAll(t, db, want)
	damageRecord(t, db, path, []byte("key017"), vlen)
	pointOutside(t, db, []byte("key123"))
	delete(want, "key017")
	delete(want, "key123")

	if err := db.ForEach(func(k, v []byte) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ForEach over a damaged file = %v, want ErrCorrupt", err)
	}
	if _, err := collect(db.All()); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("All over a damaged file: errf = %v, want ErrCorrupt", err)
	}

	got := map[string]string{}
	skipped, err := db.Salvage(func(k, v []byte) error {
		if _, dup := got[string(k)]; dup {
			return fmt.Errorf("%q twice", k)
		}
		got[string(k)] = string(v)
		return nil
	})
	if err != nil || skipped != 2 {
		t.Fatalf("Salvage = %d skipped, %v; want 2, nil", skipped, err)
	}
	sameMap(t, "Salvage", got, want)

	// fn's error ends it, with the count so far.
	stop := errors.New("stop")
	if _, err := db.Salvage(func(k, v []byte) error { return stop }); err != stop {
		t.Fatalf("Salvage with a failing fn = %v, want fn's error", err)
	}
	// Check names the damage Salvage went past.
	if err := db.Check(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Check = %v, want ErrCorrupt", err)
	}
}

// On a sound file Salvage is ForEach, skipping nothing; on a closed one it
// returns ErrClosed.
func TestSalvageSoundFile(t *testing.T) {
	db, _ := openTemp(t, nil)
	want := map[string]string{"a": "1", "b": "2", "c": ""}
	putAll(t, db, want)
	got := map[string]string{}
	skipped, err := db.Salvage(func(k, v []byte) error { got[string(k)] = string(v); return nil })
	if err != nil || skipped != 0 {
		t.Fatalf("Salvage of a sound file = %d, %v", skipped, err)
	}
	sameMap(t, "Salvage", got, want)
	db.Close()
	if _, err := db.Salvage(func(k, v []byte) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Salvage on a closed DB = %v, want ErrClosed", err)
	}
}
