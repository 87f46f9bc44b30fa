//go:build unix

package kv

import (
	"errors"
	"fmt"
	"testing"
)

// TestEvictNeverFull: in cache mode a stream of writes ten times MaxSize never
// fails, the file stays within MaxSize, the newest writes survive, and a key
// read all along survives too.
func TestEvictNeverFull(t *testing.T) {
	const maxSize = 1 << 20
	db, path := openTemp(t, &Options{MaxSize: maxSize, Evict: true})
	val := make([]byte, 200)
	hot := []byte("hot")
	db.Put(hot, []byte("keep me"))
	n := 10 * maxSize / len(val)
	for i := 0; i < n; i++ {
		if err := db.Put([]byte(fmt.Sprint("k", i)), val); err != nil {
			t.Fatalf("Put %d in cache mode: %v", i, err)
		}
		if i%50 == 0 {
			if _, err := db.Get(hot); err != nil {
				t.Fatalf("the hot key was evicted after %d writes: %v", i, err)
			}
		}
	}
	st := db.Stats()
	if st.FileSize > maxSize || st.Evictions == 0 {
		t.Fatalf("after %d writes: %+v", n, st)
	}
	// The most recent 1/8 of MaxSize of writes (as the records take it) is
	// all there.
	recent := maxSize / 8 / int(allocatedSize(recordSize(len(fmt.Sprint("k", n)), len(val), false)))
	for i := n - recent; i < n; i++ {
		if _, err := db.Get([]byte(fmt.Sprint("k", i))); err != nil {
			t.Fatalf("recent key k%d (of %d) was evicted: %v", i, n, err)
		}
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	// A value that cannot fit even in an empty file evicts nothing.
	before := db.Stats().Keys
	if err := db.Put([]byte("huge"), make([]byte, 2*maxSize)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Put larger than MaxSize = %v, want ErrTooLarge", err)
	}
	if db.Stats().Keys != before {
		t.Fatal("a too-large Put evicted entries")
	}
	db.Close()
	// Evict is the file's setting: a zero Options takes it; a plain file refuses it.
	again, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A cache holds any value whose record takes up to 1/8 of MaxSize.
	if err := again.Put([]byte("more"), make([]byte, maxSize/8-PageSize)); err != nil {
		t.Fatalf("reopened without options, cache mode lost: %v", err)
	}
	if err := again.Put([]byte("more"), make([]byte, maxSize/8+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Put of a value over 1/8 of MaxSize = %v, want ErrTooLarge", err)
	}
	again.Close()
	plain, plainPath := openTemp(t, nil)
	plain.Close()
	if _, err := Open(plainPath, &Options{Evict: true, MaxSize: maxSize}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Evict on a file created without it = %v", err)
	}
	if _, err := Open(plainPath+"x", &Options{Evict: true}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Evict without MaxSize = %v", err)
	}
}

func TestCacheHitsAndMisses(t *testing.T) {
	db, _ := openTemp(t, &Options{MaxSize: 1 << 20, Evict: true})
	db.Put([]byte("a"), []byte("1"))
	db.Get([]byte("a"))
	db.Get([]byte("a"))
	db.Get([]byte("b"))
	if st := db.Stats(); st.Hits != 2 || st.Misses != 1 {
		t.Fatalf("Hits %d, Misses %d; want 2, 1", st.Hits, st.Misses)
	}
}
