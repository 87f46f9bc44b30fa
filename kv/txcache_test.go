//go:build unix

package kv

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

// Tx's cache operations see the transaction's own writes, give the results
// the DB's do, and commit together with the rest of the Update.
func TestTxCacheOperations(t *testing.T) {
	db, _ := openTemp(t, nil)
	db.Put([]byte("kept"), []byte("before"))
	err := db.Update(func(tx *Tx) error {
		if err := tx.Put([]byte("k"), []byte("a")); err != nil {
			return err
		}
		if ok, err := tx.CompareAndSwap([]byte("k"), []byte("a"), []byte("b"), 0); !ok || err != nil {
			return fmt.Errorf("CompareAndSwap over the tx's own write = %v, %v", ok, err)
		}
		if ok, err := tx.CompareAndSwap([]byte("k"), []byte("a"), []byte("c"), 0); ok || err != nil {
			return fmt.Errorf("CompareAndSwap with a stale old = %v, %v", ok, err)
		}
		if ok, err := tx.Replace([]byte("k"), []byte("r"), time.Hour); !ok || err != nil {
			return fmt.Errorf("Replace of a key the tx wrote = %v, %v", ok, err)
		}
		if ok, err := tx.PutIfAbsent([]byte("k"), []byte("x"), 0); ok || err != nil {
			return fmt.Errorf("PutIfAbsent of a key the tx wrote = %v, %v", ok, err)
		}
		if err := tx.Delete([]byte("k")); err != nil {
			return err
		}
		if ok, err := tx.PutIfAbsent([]byte("k"), []byte("fresh"), 0); !ok || err != nil {
			return fmt.Errorf("PutIfAbsent after the tx deleted the key = %v, %v", ok, err)
		}
		if ok, err := tx.Replace([]byte("nope"), []byte("x"), 0); ok || err != nil {
			return fmt.Errorf("Replace of an absent key = %v, %v", ok, err)
		}
		for want := int64(1); want <= 3; want++ {
			if n, err := tx.Add([]byte("n"), 1); n != want || err != nil {
				return fmt.Errorf("Add = %d, %v; want %d", n, err, want)
			}
		}
		if n, err := tx.AddTTL([]byte("m"), -4, time.Hour); n != -4 || err != nil {
			return fmt.Errorf("AddTTL = %d, %v", n, err)
		}
		if err := tx.Expire([]byte("kept"), time.Hour); err != nil {
			return err
		}
		if d, err := tx.TTL([]byte("kept")); err != nil || d <= 59*time.Minute {
			return fmt.Errorf("TTL after Expire in the tx = %v, %v", d, err)
		}
		// Readers see none of it yet.
		if _, err := db.Get([]byte("n")); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("a reader saw n before the commit: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"k": "fresh", "n": string(le.AppendUint64(nil, 3)), "m": string(le.AppendUint64(nil, uint64(1<<64-4))), "kept": "before"} {
		if v, err := db.Get([]byte(k)); err != nil || string(v) != want {
			t.Errorf("after the commit %q = %q, %v; want %q", k, v, err, want)
		}
	}
	if _, err := db.Get([]byte("nope")); !errors.Is(err, ErrNotFound) {
		t.Errorf("nope = %v", err)
	}
	if d, _ := db.TTL([]byte("kept")); d == NoTTL {
		t.Error("Tx.Expire was not committed")
	}
	if d, _ := db.TTL([]byte("m")); d == NoTTL {
		t.Error("Tx.AddTTL's TTL was not committed")
	}
}

// A Tx cache operation that fails leaves the transaction as it was, and fn
// may go on; an Update whose fn fails applies none of them.
func TestTxCacheOperationsAllOrNothing(t *testing.T) {
	db, _ := openTemp(t, &Options{MaxSize: 256 << 10})
	db.Put([]byte("text"), []byte("not a counter"))
	big := bytes.Repeat([]byte("v"), 8000)
	stored := 0
	err := db.Update(func(tx *Tx) error {
		if _, err := tx.Add([]byte("text"), 1); !errors.Is(err, ErrInvalid) {
			return fmt.Errorf("Add on a text value = %v, want ErrInvalid", err)
		}
		if err := tx.Expire([]byte("absent"), time.Hour); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("Expire of an absent key = %v, want ErrNotFound", err)
		}
		if _, err := tx.CompareAndSwap(nil, nil, []byte("x"), 0); !errors.Is(err, ErrInvalid) {
			return fmt.Errorf("CompareAndSwap of an empty key = %v, want ErrInvalid", err)
		}
		if _, err := tx.PutIfAbsent([]byte("k"), make([]byte, MaxValueSize+1), 0); !errors.Is(err, ErrTooLarge) {
			return fmt.Errorf("PutIfAbsent of a value over MaxValueSize = %v, want ErrTooLarge", err)
		}
		// Fill the bounded file until a write finds no room.
		for i := 0; ; i++ {
			k := []byte(fmt.Sprint("big", i))
			ok, err := tx.PutIfAbsent(k, big, time.Hour)
			if errors.Is(err, ErrFull) {
				if ok {
					return errors.New("PutIfAbsent reported a write with ErrFull")
				}
				if _, err := tx.Get(k); !errors.Is(err, ErrNotFound) {
					return fmt.Errorf("the write that found no room left %q behind: %v", k, err)
				}
				break
			}
			if err != nil || !ok {
				return fmt.Errorf("PutIfAbsent %d = %v, %v", i, ok, err)
			}
			stored++
		}
		// fn goes on after the failure.
		_, err := tx.Add([]byte("after"), 1)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := db.Get([]byte("text")); string(v) != "not a counter" {
		t.Errorf("a failed Add changed the value to %q", v)
	}
	if stored == 0 {
		t.Fatal("nothing fitted before ErrFull")
	}
	for i := 0; i < stored; i++ {
		if v, err := db.Get([]byte(fmt.Sprint("big", i))); err != nil || len(v) != len(big) {
			t.Fatalf("big%d after the commit: %d bytes, %v", i, len(v), err)
		}
	}
	if _, err := db.Get([]byte(fmt.Sprint("big", stored))); !errors.Is(err, ErrNotFound) {
		t.Errorf("the key that found no room is there after the commit: %v", err)
	}
	if _, err := db.Get([]byte("after")); err != nil {
		t.Errorf("the write after the failure was lost: %v", err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}

	// A failing fn discards every cache operation it made.
	boom := errors.New("boom")
	err = db.Update(func(tx *Tx) error {
		tx.Add([]byte("after"), 10)
		tx.PutIfAbsent([]byte("new"), []byte("x"), 0)
		tx.Replace([]byte("text"), []byte("replaced"), 0)
		tx.CompareAndSwap([]byte("text"), []byte("replaced"), []byte("swapped"), 0)
		tx.Expire([]byte("after"), time.Millisecond)
		return boom
	})
	if err != boom {
		t.Fatalf("Update = %v, want fn's error", err)
	}
	if v, _ := db.Get([]byte("text")); string(v) != "not a counter" {
		t.Errorf("a failed Update left text = %q", v)
	}
	if _, err := db.Get([]byte("new")); !errors.Is(err, ErrNotFound) {
		t.Errorf("a failed Update left new: %v", err)
	}
	if v, _ := db.Get([]byte("after")); int64(le.Uint64(v)) != 1 {
		t.Errorf("a failed Update changed after to %d", int64(le.Uint64(v)))
	}
	if d, _ := db.TTL([]byte("after")); d != NoTTL {
		t.Errorf("a failed Update's Expire stuck: %v", d)
	}
}

// A Tx's cache operations after its Update returned report ErrClosed.
func TestTxCacheOperationsAfterUpdate(t *testing.T) {
	db, _ := openTemp(t, nil)
	var kept *Tx
	db.Update(func(tx *Tx) error { kept = tx; return nil })
	k := []byte("k")
	for name, err := range map[string]error{
		"PutTTL": kept.PutTTL(k, nil, 0),
		"Expire": kept.Expire(k, 0),
		"Add":    second(kept.Add(k, 1)),
		"AddTTL": second(kept.AddTTL(k, 1, 0)),
		"CAS":    second(kept.CompareAndSwap(k, nil, nil, 0)),
		"Absent": second(kept.PutIfAbsent(k, nil, 0)),
		"Repl":   second(kept.Replace(k, nil, 0)),
		"TTL":    second(kept.TTL(k)),
		"Delete": kept.Delete(k),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Tx.%s after Update = %v, want ErrClosed", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// In a cache whose file is full, a Tx cache operation that finds no room
// makes Update evict and run fn again, until all of it fits.
func TestTxCacheOperationsEvict(t *testing.T) {
	db, _ := openTemp(t, &Options{MaxSize: 256 << 10, Evict: true})
	v := bytes.Repeat([]byte("c"), 2000)
	for i := range 200 {
		if err := db.Put([]byte(fmt.Sprint("old", i)), v); err != nil {
			t.Fatal(err)
		}
	}
	runs := 0
	err := db.Update(func(tx *Tx) error {
		runs++
		for i := range 20 {
			if _, err := tx.PutIfAbsent([]byte(fmt.Sprint("new", i)), v, time.Hour); err != nil {
				return err
			}
			if _, err := tx.AddTTL([]byte(fmt.Sprint("count", i)), 1, time.Hour); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update at the bound = %v after %d runs", err, runs)
	}
	if runs < 2 {
		t.Fatalf("fn ran %d times: the Update never found the cache full", runs)
	}
	for i := range 20 {
		if got, err := db.Get([]byte(fmt.Sprint("new", i))); err != nil || !bytes.Equal(got, v) {
			t.Fatalf("new%d after the Update: %v", i, err)
		}
		if n, _ := db.Get([]byte(fmt.Sprint("count", i))); int64(le.Uint64(n)) != 1 {
			t.Fatalf("count%d = %d: an earlier run's Add was applied too", i, int64(le.Uint64(n)))
		}
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}
