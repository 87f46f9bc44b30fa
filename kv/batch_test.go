//go:build unix

package kv

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"testing"
)

// TestGroupCommit: durable writes of many goroutines of one handle share
// commits, every write lands with its own value, and one that fails (ErrFull)
// is rolled back alone, without failing the writes committed with it.
func TestGroupCommit(t *testing.T) {
	db, _ := openTemp(t, &Options{Sync: true, MaxSize: 4 << 20})
	before := db.Stats().Commits
	const goroutines, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				k := fmt.Sprintf("g%d-%d", g, i)
				if err := db.Put([]byte(k), []byte("v-"+k)); err != nil {
					errs <- err
				}
				if i == each/2 {
					// Too large for what is left of MaxSize: fails alone.
					if err := db.Put([]byte(k+"-big"), make([]byte, 5<<20)); !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrFull) {
						errs <- fmt.Errorf("a too-large Put = %v", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for g := 0; g < goroutines; g++ {
		for i := 0; i < each; i++ {
			k := fmt.Sprintf("g%d-%d", g, i)
			if v, err := db.Get([]byte(k)); err != nil || string(v) != "v-"+k {
				t.Fatalf("%s = %q, %v", k, v, err)
			}
		}
	}
	commits := db.Stats().Commits - before
	t.Logf("%d durable Puts in %d commits", goroutines*each, commits)
	if commits >= goroutines*each {
		t.Fatalf("%d Puts took %d commits: no write shared a flush", goroutines*each, commits)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestGroupCommitFailsTogether: when the shared flush fails, every write of
// the batch reports it, and the handle refuses further writes.
func TestGroupCommitFailsTogether(t *testing.T) {
	db, _ := openTemp(t, &Options{Sync: true})
	db.Put([]byte("before"), []byte("1"))
	testSyncFault = func() error { return syscall.EIO } // the disk fails
	defer func() { testSyncFault = nil }()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for g := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[g] = db.Put([]byte(fmt.Sprint("k", g)), []byte("v"))
		}()
	}
	wg.Wait()
	for g, err := range errs {
		if !errors.Is(err, syscall.EIO) {
			t.Fatalf("write %d after a failed flush = %v, want EIO", g, err)
		}
	}
	if err := db.Put([]byte("after"), nil); !errors.Is(err, errSyncFailed) {
		t.Fatalf("a write after a failed flush = %v, want the sticky failure", err)
	}
	if v, err := db.Get([]byte("before")); err != nil || string(v) != "1" {
		t.Fatalf("reads after a failed flush: %q, %v", v, err)
	}
	for g := range errs {
		if _, err := db.Get([]byte(fmt.Sprint("k", g))); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a write whose flush failed is visible: %v", err)
		}
	}
}
