//go:build unix

package kv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every method that takes the writer lock, called from inside an Update's fn
// on the same DB, returns ErrInvalid instead of waiting for itself, however
// deep in fn's calls it is made.
func TestReentryRefused(t *testing.T) {
	db, path := openTemp(t, nil)
	db.Put([]byte("k"), le.AppendUint64(nil, 1))
	k := []byte("k")
	calls := map[string]func() error{
		"Put":            func() error { return db.Put(k, nil) },
		"Delete":         func() error { return db.Delete(k) },
		"Update":         func() error { return db.Update(func(*Tx) error { return nil }) },
		"PutTTL":         func() error { return db.PutTTL(k, nil, time.Hour) },
		"Expire":         func() error { return db.Expire(k, time.Hour) },
		"Add":            func() error { return second(db.Add(k, 1)) },
		"AddTTL":         func() error { return second(db.AddTTL(k, 1, time.Hour)) },
		"CompareAndSwap": func() error { return second(db.CompareAndSwap(k, nil, nil, 0)) },
		"PutIfAbsent":    func() error { return second(db.PutIfAbsent([]byte("new"), nil, 0)) },
		"Replace":        func() error { return second(db.Replace(k, nil, 0)) },
		"Clear":          func() error { return db.Clear() },
		"DeleteExpired":  func() error { return second(db.DeleteExpired(0)) },
		"GetOrCompute": func() error {
			return second(db.GetOrCompute(context.Background(), []byte("gc"), 0, func() ([]byte, error) { return nil, nil }))
		},
		"Check":           func() error { return db.Check() },
		"Snapshot":        func() error { return db.Snapshot(filepath.Join(filepath.Dir(path), "snap")) },
		"SnapshotCompact": func() error { return db.SnapshotCompact(filepath.Join(filepath.Dir(path), "snapc")) },
		"WriteTo":         func() error { return second(db.WriteTo(io.Discard)) },
		"Close":           func() error { return db.Close() },
	}
	var deep func(n int, f func() error) error
	deep = func(n int, f func() error) error {
		if n == 0 {
			return f()
		}
		return deep(n-1, f)
	}
	for name, call := range calls {
		for _, depth := range []int{0, 100} {
			err := db.Update(func(tx *Tx) error {
				if err := deep(depth, call); !errors.Is(err, ErrInvalid) {
					t.Errorf("%s inside Update's fn (%d frames down) = %v, want ErrInvalid", name, depth, err)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("Update around %s: %v", name, err)
			}
		}
	}
	// After the Update, the same goroutine writes again.
	if err := db.Put(k, []byte("after")); err != nil {
		t.Fatalf("Put after the Updates = %v", err)
	}
	// And after an Update whose fn panicked.
	func() {
		defer func() { recover() }()
		db.Update(func(*Tx) error { panic("in fn") })
	}()
	if err := db.Put(k, []byte("after panic")); err != nil {
		t.Fatalf("Put after a panicking Update = %v", err)
	}
}

// Inside an Update's fn, another handle's writes and Update are not
// re-entry, and within that inner Update the outer handle is still refused.
func TestReentryOtherHandle(t *testing.T) {
	a, _ := openTemp(t, nil)
	b, _ := openTemp(t, nil)
	err := a.Update(func(atx *Tx) error {
		if err := b.Put([]byte("x"), []byte("1")); err != nil {
			return fmt.Errorf("another handle's Put inside fn = %v", err)
		}
		return b.Update(func(btx *Tx) error {
			if err := a.Put([]byte("y"), nil); !errors.Is(err, ErrInvalid) {
				return fmt.Errorf("the outer handle's Put inside the inner fn = %v, want ErrInvalid", err)
			}
			if err := btx.Put([]byte("z"), []byte("2")); err != nil {
				return err
			}
			return atx.Put([]byte("w"), []byte("3"))
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := b.Get([]byte("z")); string(v) != "2" {
		t.Errorf("inner Update's write: %q", v)
	}
	if v, _ := a.Get([]byte("w")); string(v) != "3" {
		t.Errorf("outer Update's write: %q", v)
	}
}

// Writes by other goroutines while Updates run wait and succeed: none is
// taken for re-entry, also when fn blocks and its goroutine sleeps.
func TestReentryNotConfusedByOtherGoroutines(t *testing.T) {
	db, _ := openTemp(t, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes, refused atomic.Int64
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				err := db.Put([]byte(fmt.Sprint("g", g, "-", i%50)), []byte("v"))
				if errors.Is(err, ErrInvalid) {
					refused.Add(1)
				} else if err != nil {
					t.Error(err)
					return
				}
				writes.Add(1)
			}
		}()
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	updates := 0
	for ; time.Now().Before(deadline) || updates < 50; updates++ {
		err := db.Update(func(tx *Tx) error {
			if updates%5 == 0 {
				time.Sleep(100 * time.Microsecond) // fn's goroutine blocks
			}
			return tx.Put([]byte("u"), []byte(strconv.Itoa(updates)))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if refused.Load() != 0 {
		t.Fatalf("%d of %d writes by other goroutines were refused as re-entry", refused.Load(), writes.Load())
	}
	if writes.Load() == 0 {
		t.Fatal("no write ran beside the Updates")
	}
}

// BenchmarkReentryCheck measures what a write by another goroutine pays to
// learn that it is not inside a running Update's fn: the thread-id check of
// reentry_linux.go (where built) against parsing a goroutine id out of
// runtime.Stack at several stack depths (what kv did before, and still does
// off Linux).
func BenchmarkReentryCheck(b *testing.B) {
	b.Run("insideUpdate", func(b *testing.B) {
		var db DB
		db.updater.Store(-42) // an Update runs, on no goroutine of ours
		for i := 0; i < b.N; i++ {
			if db.insideUpdate() {
				b.Fatal("the benchmark's goroutine taken for the updater")
			}
		}
	})
	var sink int64
	for _, depth := range []int{0, 10, 50, 200} {
		b.Run(fmt.Sprintf("goidFromStack/depth=%d", depth), func(b *testing.B) {
			var deep func(n int)
			deep = func(n int) {
				if n > 0 {
					deep(n - 1)
					return
				}
				for i := 0; i < b.N; i++ {
					sink += goidFromStack()
				}
			}
			deep(depth)
		})
	}
	if sink == 0 {
		b.Log("no goroutine id read")
	}
}

// View's last run holds the writer lock: a write from its fn then returns
// ErrInvalid instead of waiting for that lock for ever.
func TestReentryFromLockedView(t *testing.T) {
	// Not openTemp: after a deadlock its Close would wait for ever too.
	db, err := Open(filepath.Join(t.TempDir(), "t.kv"), nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Put([]byte("k"), []byte("v"))
	done := make(chan error, 1)
	go func() {
		done <- db.viewLocked(func(tx *ReadTx) error {
			if v, err := tx.Get([]byte("k")); err != nil || string(v) != "v" {
				return fmt.Errorf("Get in the locked run = %q, %v", v, err)
			}
			if err := db.Put([]byte("k"), []byte("w")); !errors.Is(err, ErrInvalid) {
				return fmt.Errorf("Put from the locked run's fn = %v, want ErrInvalid", err)
			}
			return nil
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a write from View's locked run deadlocked")
	}
	if err := db.Put([]byte("k"), []byte("after")); err != nil {
		t.Fatalf("Put after the View = %v", err)
	}
	db.Close()
}
