//go:build unix

// Update's contract, and an Update whose Put fails (ErrFull, after a rehash
// or a growth): only that Put is undone.

package kv

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestUpdateContract(t *testing.T) {
	db, _ := openTemp(t, nil)
	db.Put([]byte("x"), []byte("old"))
	boom := errors.New("boom")
	calls := 0
	err := db.Update(func(tx *Tx) error {
		calls++
		if err := tx.Put([]byte("x"), []byte("new")); err != nil {
			return err
		}
		if v, err := tx.Get([]byte("x")); err != nil || string(v) != "new" {
			t.Errorf("tx.Get sees %q, %v; want its own write", v, err)
		}
		if v, _ := db.Get([]byte("x")); string(v) != "old" {
			t.Errorf("a reader saw the uncommitted value %q", v)
		}
		tx.Delete([]byte("y"))
		return boom
	})
	if err != boom || calls != 1 {
		t.Fatalf("Update = %v after %d calls; want fn's error after one call", err, calls)
	}
	if v, _ := db.Get([]byte("x")); string(v) != "old" {
		t.Fatalf("a failed Update left %q", v)
	}
	// The DB's own writes inside fn are refused, not deadlocked.
	err = db.Update(func(tx *Tx) error {
		if err := db.Put([]byte("z"), nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("db.Put inside Update = %v, want ErrInvalid", err)
		}
		if err := db.Update(func(*Tx) error { return nil }); !errors.Is(err, ErrInvalid) {
			t.Errorf("nested Update = %v, want ErrInvalid", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var kept *Tx
	db.Update(func(tx *Tx) error { kept = tx; return nil })
	if err := kept.Put([]byte("late"), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Tx.Put after Update = %v, want ErrClosed", err)
	}
}

// TestFailedPutInsideUpdate: operations that fail inside an Update (ErrFull,
// sometimes after a rehash or a growth) leave the transaction exactly as it
// was, and the Update commits the rest.
func TestFailedPutInsideUpdate(t *testing.T) {
	db, _ := openTemp(t, &Options{InitialSize: MinFileSize, MaxSize: 256 << 10})
	model := map[string][]byte{}
	rng := rand.New(rand.NewPCG(8, 9))
	fulls := 0
	for round := 0; round < 300; round++ {
		staged := map[string][]byte{}
		deleted := map[string]bool{}
		err := db.Update(func(tx *Tx) error {
			for i := rng.IntN(30); i >= 0; i-- {
				k := []byte(fmt.Sprintf("k%d", rng.IntN(600)))
				if rng.IntN(5) == 0 {
					tx.Delete(k)
					deleted[string(k)] = true
					delete(staged, string(k))
					continue
				}
				v := bytes.Repeat([]byte{byte(round)}, rng.IntN(1500))
				if rng.IntN(40) == 0 {
					v = make([]byte, 5000+rng.IntN(60000))
				}
				if err := tx.Put(k, v); err != nil {
					if !errors.Is(err, ErrFull) {
						return err
					}
					fulls++
					continue
				}
				staged[string(k)] = v
				delete(deleted, string(k))
			}
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for k := range deleted {
			delete(model, k)
		}
		for k, v := range staged {
			model[k] = v
		}
		if round%50 == 49 {
			if err := db.Check(); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
	if fulls == 0 {
		t.Fatal("the file never filled up: the test did not test")
	}
	verifyModel(t, db, model)
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestRollbackAfterRehash: a Put inside an Update that first rebuilds the
// table and then runs out of room must not undo the Update's earlier writes.
// The filler sizes sweep the free space so that some runs have room for the
// new table but not for the record.
func TestRollbackAfterRehash(t *testing.T) {
	hit := 0
	for filler := 0; filler <= 96<<10; filler += 2 << 10 {
		db, _ := openTemp(t, &Options{InitialSize: 128 << 10, MaxSize: 128 << 10})
		err := db.Update(func(tx *Tx) error {
			for i := 0; i < 384; i++ { // the last count before a rehash
				if err := tx.Put([]byte(fmt.Sprintf("k%d", i)), []byte("v")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Put([]byte("k383"), make([]byte, filler)); err != nil {
			db.Close()
			continue
		}
		rehashes := db.Stats().Rehashes
		var bigErr error
		err = db.Update(func(tx *Tx) error {
			tx.Delete([]byte("k0"))
			tx.Put([]byte("k1"), []byte("new"))
			bigErr = tx.Put([]byte("new-key"), make([]byte, 40<<10))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Get([]byte("k0")); !errors.Is(err, ErrNotFound) {
			t.Fatalf("filler %d: the Update's Delete was lost (%v)", filler, err)
		}
		if v, _ := db.Get([]byte("k1")); string(v) != "new" {
			t.Fatalf("filler %d: the Update's Put was lost: %q", filler, v)
		}
		if _, err := db.Get([]byte("new-key")); (err == nil) != (bigErr == nil) {
			t.Fatalf("filler %d: Put returned %v, Get says %v", filler, bigErr, err)
		}
		if err := db.Check(); err != nil {
			t.Fatalf("filler %d: %v", filler, err)
		}
		if errors.Is(bigErr, ErrFull) && db.Stats().Rehashes == rehashes {
			hit++
		}
		db.Close()
	}
	if hit == 0 {
		t.Fatal("no run failed a Put after a rehash: the test did not test")
	}
}
