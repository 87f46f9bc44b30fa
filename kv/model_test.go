//go:build unix

package kv

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// TestModel runs random Put/Get/Delete/Update operations against a Go map,
// with Close and reopen along the way, and checks every key and the file's
// structure at the end.
func TestModel(t *testing.T) {
	ops := 100_000
	if testing.Short() {
		ops = 20_000
	}
	path := filepath.Join(t.TempDir(), "model.kv")
	open := func() *DB {
		db, err := Open(path, &Options{InitialSize: MinFileSize})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	defer func() { db.Close() }()
	model := map[string][]byte{}
	rng := rand.New(rand.NewPCG(1, 2))
	key := func() []byte { return []byte(fmt.Sprintf("k%d", rng.IntN(5000))) }
	value := func() []byte {
		n := rng.IntN(200)
		switch rng.IntN(50) {
		case 0:
			n = 2000 + rng.IntN(20000) // chained records
		case 1:
			n = 0
		}
		v := make([]byte, n)
		for i := range v {
			v[i] = byte(rng.Uint32())
		}
		return v
	}
	for i := 0; i < ops; i++ {
		switch r := rng.IntN(100); {
		case r < 45:
			k, v := key(), value()
			if err := db.Put(k, v); err != nil {
				t.Fatalf("op %d: Put: %v", i, err)
			}
			model[string(k)] = v
		case r < 75:
			k := key()
			got, err := db.Get(k)
			want, ok := model[string(k)]
			if ok != (err == nil) || (err != nil && !errors.Is(err, ErrNotFound)) || !bytes.Equal(got, want) {
				t.Fatalf("op %d: Get(%s) = %d bytes, %v; want %d bytes, present %v", i, k, len(got), err, len(want), ok)
			}
		case r < 90:
			k := key()
			if err := db.Delete(k); err != nil {
				t.Fatalf("op %d: Delete: %v", i, err)
			}
			delete(model, string(k))
		case r < 99:
			fail := rng.IntN(4) == 0
			staged := map[string][]byte{}
			deleted := map[string]bool{}
			err := db.Update(func(tx *Tx) error {
				for j := rng.IntN(50); j >= 0; j-- {
					k := key()
					if rng.IntN(4) == 0 {
						if err := tx.Delete(k); err != nil {
							return err
						}
						delete(staged, string(k))
						deleted[string(k)] = true
						continue
					}
					v := value()
					if err := tx.Put(k, v); err != nil {
						return err
					}
					staged[string(k)] = v
					delete(deleted, string(k))
					got, err := tx.Get(k)
					if err != nil || !bytes.Equal(got, v) {
						return fmt.Errorf("tx.Get after tx.Put: %v", err)
					}
				}
				if fail {
					return errBoom
				}
				return nil
			})
			if fail != errors.Is(err, errBoom) || (!fail && err != nil) {
				t.Fatalf("op %d: Update: %v", i, err)
			}
			if !fail {
				for k := range deleted {
					delete(model, k)
				}
				for k, v := range staged {
					model[k] = v
				}
			}
		default:
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = open()
		}
	}
	verifyModel(t, db, model)
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	st := db.Stats()
	t.Logf("%d ops: %+v", ops, st)
}

var errBoom = errors.New("boom")

func verifyModel(t *testing.T, db *DB, model map[string][]byte) {
	t.Helper()
	for k, want := range model {
		got, err := db.Get([]byte(k))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Get(%s) = %d bytes, %v; want %d bytes", k, len(got), err, len(want))
		}
	}
	seen := 0
	err := db.ForEach(func(k, v []byte) error {
		seen++
		want, ok := model[string(k)]
		if !ok || !bytes.Equal(v, want) {
			return fmt.Errorf("ForEach: %s: unexpected pair (present in model %v)", k, ok)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(model) {
		t.Fatalf("ForEach saw %d keys, want %d", seen, len(model))
	}
	if n := db.Stats().Keys; n != int64(len(model)) {
		t.Fatalf("Stats.Keys = %d, want %d", n, len(model))
	}
}
