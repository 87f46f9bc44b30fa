//go:build unix

// Readers on another handle while a writer rewrites one key in place or sweeps
// expired entries: never an error, never a miss.

package kv

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
)

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

// TestMissDuringSweep: a Put whose transaction also sweeps expired entries
// never makes the key it writes briefly unreachable to readers.
func TestMissDuringSweep(t *testing.T) {
	db, path := openTemp(t, nil)
	r, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := 0; i < 4000; i++ {
		db.PutTTL([]byte(fmt.Sprint("e", i)), []byte("v"), time.Millisecond)
		db.Put([]byte(fmt.Sprint("k", i%200)), []byte("v"))
	}
	time.Sleep(5 * time.Millisecond)
	stop := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				errs <- nil
				return
			default:
			}
			if _, err := r.Get([]byte(fmt.Sprint("k", i%200))); err != nil {
				errs <- fmt.Errorf("Get(k%d) = %v while writers swept expired entries", i%200, err)
				return
			}
		}
	}()
	for i := 0; i < 20000; i++ {
		db.Put([]byte(fmt.Sprint("k", i%200)), []byte("w"))
		db.PutTTL([]byte(fmt.Sprint("e", i)), []byte("v"), time.Millisecond)
	}
	close(stop)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}
