//go:build unix

package kv

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestViewSeesWholeUpdates: Updates keep a + b = 0; Views in other goroutines
// never see a sum other than 0, under a writer committing without pause.
func TestViewSeesWholeUpdates(t *testing.T) {
	db, _ := openTemp(t, nil)
	put := func(tx *Tx, k string, n int64) { tx.Put([]byte(k), le.AppendUint64(nil, uint64(n))) }
	db.Update(func(tx *Tx) error { put(tx, "a", 0); put(tx, "b", 0); return nil })
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := int64(1); ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			db.Update(func(tx *Tx) error { put(tx, "a", n); put(tx, "b", -n); return nil })
		}
	}()
	var views, bad atomic.Int64
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := db.View(func(tx *ReadTx) error {
					a, err1 := tx.Get([]byte("a"))
					b, err2 := tx.Get([]byte("b"))
					if err1 != nil || err2 != nil {
						return errors.Join(err1, err2)
					}
					if int64(le.Uint64(a))+int64(le.Uint64(b)) != 0 {
						return fmt.Errorf("a = %d, b = %d", int64(le.Uint64(a)), int64(le.Uint64(b)))
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					bad.Add(1)
					return
				}
				views.Add(1)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d views, %d optimistic runs overtaken by a commit, %d runs under the lock", views.Load(), db.viewRetries.Load(), db.viewLocks.Load())
	if views.Load() == 0 || bad.Load() > 0 {
		t.Fatalf("%d views, %d inconsistent", views.Load(), bad.Load())
	}
}

// TestViewFallsBackToTheLock: a View each of whose optimistic runs is
// overtaken by a commit between its reads runs a last time holding the writer
// lock, and that run sees a consistent state.
func TestViewFallsBackToTheLock(t *testing.T) {
	db, path := openTemp(t, nil)
	other, err := Open(path, nil) // another writer, as another process would be
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	put2 := func(h *DB, n int) {
		h.Update(func(tx *Tx) error {
			tx.Put([]byte("a"), []byte(fmt.Sprint(n)))
			return tx.Put([]byte("b"), []byte(fmt.Sprint(n)))
		})
	}
	put2(db, 0)
	runs := 0
	err = db.View(func(tx *ReadTx) error {
		runs++
		a, _ := tx.Get([]byte("a"))
		if !tx.locked {
			put2(other, runs) // a commit lands between the reads
		}
		b, _ := tx.Get([]byte("b"))
		if tx.locked && string(a) != string(b) {
			return fmt.Errorf("under the lock a = %s, b = %s", a, b)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v (run %d)", err, runs)
	}
	if runs != viewAttempts+1 || db.viewLocks.Load() != 1 || db.viewRetries.Load() != viewAttempts {
		t.Fatalf("fn ran %d times, %d retried, %d under the lock; want %d, %d and 1",
			runs, db.viewRetries.Load(), db.viewLocks.Load(), viewAttempts+1, viewAttempts)
	}
}

// TestViewAfterItReturns: a ReadTx is not usable after View returns.
func TestViewAfterItReturns(t *testing.T) {
	db, _ := openTemp(t, nil)
	var kept *ReadTx
	if err := db.View(func(tx *ReadTx) error { kept = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := kept.Get([]byte("a")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get on a ReadTx after its View = %v, want ErrClosed", err)
	}
	db.Close()
	if err := db.View(func(*ReadTx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("View on a closed DB = %v", err)
	}
}
