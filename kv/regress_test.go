//go:build unix

package kv

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

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

// TestRewriteUnderReaders: a key rewritten in a loop reuses the same record
// space over and over; readers on another handle never see an error.
func TestRewriteUnderReaders(t *testing.T) {
	w, path := openTemp(t, nil)
	r, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	vals := [][]byte{bytes.Repeat([]byte("a"), 1990), bytes.Repeat([]byte("b"), 1990), bytes.Repeat([]byte("c"), 1990)}
	w.Put([]byte("k"), vals[0])
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for {
				select {
				case <-stop:
					return
				default:
				}
				v, err := r.AppendGet(buf[:0], []byte("k"))
				if err == nil && !(bytes.Equal(v, vals[0]) || bytes.Equal(v, vals[1]) || bytes.Equal(v, vals[2])) {
					err = fmt.Errorf("torn value")
				}
				if err != nil {
					errs <- err
					return
				}
				buf = v
			}
		}()
	}
	deadline := time.Now().Add(1500 * time.Millisecond)
	for i := 0; time.Now().Before(deadline); i++ {
		if err := w.Put([]byte("k"), vals[i%3]); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// TestSmallestFile: a file of MinFileSize stores records, and deleting a large
// value from a full file succeeds.
func TestSmallestFile(t *testing.T) {
	db, _ := openTemp(t, &Options{MaxSize: MinFileSize})
	if err := db.Put([]byte("k"), []byte("v")); err != nil {
		t.Fatalf("Put into a MinFileSize file: %v", err)
	}
	big, _ := openTemp(t, &Options{MaxSize: 4 << 20})
	if err := big.Put([]byte("big"), make([]byte, 3<<20)); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; err == nil; i++ {
		err = big.Put([]byte(fmt.Sprint(i)), make([]byte, 1000))
	}
	if !errors.Is(err, ErrFull) {
		t.Fatal(err)
	}
	if err := big.Delete([]byte("big")); err != nil {
		t.Fatalf("Delete on a full file: %v", err)
	}
	if err := big.Put([]byte("after"), make([]byte, 100000)); err != nil {
		t.Fatalf("Put after freeing room: %v", err)
	}
	if err := big.Check(); err != nil {
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
