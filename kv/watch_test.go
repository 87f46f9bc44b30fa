//go:build unix

package kv

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// registered is how many goroutines wait in the hub.
func (h *watchHub) registered() int { return int(h.n.Load()) }

func (h *watchHub) isRunning() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.running
}

// waitFor polls cond every millisecond for up to d and reports whether it
// held.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); ; {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWatch(t *testing.T) {
	db, path := openTemp(t, nil)
	other, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	if _, ver, err := db.Watch(ctx, []byte("k"), 1); !errors.Is(err, ErrNotFound) || ver != 0 {
		t.Fatalf("Watch(absent, since 1) = %d, %v; want version 0, ErrNotFound", ver, err)
	}
	db.Put([]byte("k"), []byte("v1"))
	v, ver, err := db.Watch(ctx, []byte("k"), 0)
	if err != nil || string(v) != "v1" || ver == 0 {
		t.Fatalf("Watch(since 0) = %q, %d, %v", v, ver, err)
	}
	got := make(chan string, 1)
	go func() {
		v, _, err := db.Watch(ctx, []byte("k"), ver)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(v)
	}()
	time.Sleep(20 * time.Millisecond)
	select {
	case s := <-got:
		t.Fatalf("Watch returned %q before any write", s)
	default:
	}
	other.Put([]byte("k"), []byte("v2")) // through another handle, as another process would
	select {
	case s := <-got:
		if s != "v2" {
			t.Fatalf("Watch woke with %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not wake on another handle's write")
	}
	// Cancellation returns promptly.
	cctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, _, err := db.Watch(cctx, []byte("k"), 0x7fff); err == nil {
		// version differs: returns at once; ask for the current one instead
	}
	_, cur, _ := db.Watch(ctx, []byte("k"), 0)
	if _, _, err := db.Watch(cctx, []byte("k"), cur); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Watch after its context ended = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Watch took %v to notice its context ended", d)
	}
}

func TestGetOrCompute(t *testing.T) {
	db, path := openTemp(t, &Options{ComputeTimeout: 2 * time.Second})
	ctx := context.Background()
	var calls atomic.Int32
	var wg sync.WaitGroup
	results := make([]string, 8)
	for i := range results {
		h := db
		if i%2 == 1 { // half the callers through other handles
			o, err := Open(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			h = o
		}
		wg.Add(1)
		go func(i int, h *DB) {
			defer wg.Done()
			v, err := h.GetOrCompute(ctx, []byte("expensive"), time.Hour, func() ([]byte, error) {
				calls.Add(1)
				time.Sleep(50 * time.Millisecond)
				return []byte("result"), nil
			})
			if err != nil {
				results[i] = err.Error()
				return
			}
			results[i] = string(v)
		}(i, h)
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("fn ran %d times, want once", calls.Load())
	}
	for i, r := range results {
		if r != "result" {
			t.Fatalf("caller %d got %q", i, r)
		}
	}
	// A failing fn leaves the key absent and the error with its caller.
	boom := errors.New("boom")
	if _, err := db.GetOrCompute(context.Background(), []byte("fails"), 0, func() ([]byte, error) { return nil, boom }); err != boom {
		t.Fatalf("GetOrCompute with a failing fn = %v", err)
	}
	if _, err := db.Get([]byte("fails")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after a failed compute Get = %v", err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestWatchWaitsForAbsentKey(t *testing.T) {
	db, _ := openTemp(t, nil)
	got := make(chan string, 1)
	go func() {
		v, _, err := db.Watch(context.Background(), []byte("later"), 0)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(v)
	}()
	time.Sleep(20 * time.Millisecond)
	db.Put([]byte("later"), []byte("here"))
	select {
	case s := <-got:
		if s != "here" {
			t.Fatalf("Watch(absent, 0) = %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch(absent, 0) did not wake when the key appeared")
	}
}

// TestWatchSeesExpiry: a watched key that expires is a change (version 0,
// ErrNotFound) though nothing is written; on a read-write handle (futex) and
// a read-only one (polling).
func TestWatchSeesExpiry(t *testing.T) {
	rw, path := openTemp(t, nil)
	ro, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	for _, db := range []*DB{rw, ro} {
		if err := rw.PutTTL([]byte("brief"), []byte("v"), 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		_, ver, err := db.Watch(context.Background(), []byte("brief"), 0)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		_, ver, err = db.Watch(ctx, []byte("brief"), ver)
		cancel()
		if !errors.Is(err, ErrNotFound) || ver != 0 {
			t.Fatalf("read-only %v: Watch on an expiring key = version %d, %v; want 0, ErrNotFound", db.readOnly, ver, err)
		}
		t.Logf("read-only %v: expiry seen %v after Watch began (the key had 100ms to live)", db.readOnly, time.Since(start))
	}
}

// TestWatchFileTruncated: a file truncated to nothing under waiting watchers
// (the watch words gone with it) ends their Watch with ErrCorrupt instead of
// crashing the process.
func TestWatchFileTruncated(t *testing.T) {
	db, path := openTemp(t, nil)
	db.Put([]byte("k"), []byte("v"))
	_, ver, err := db.Watch(context.Background(), []byte("k"), 0)
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	errs := make(chan error, n)
	for range n {
		go func() {
			_, _, err := db.Watch(context.Background(), []byte("k"), ver)
			errs <- err
		}()
	}
	for db.watchers.n.Load() != n {
		time.Sleep(time.Millisecond)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	for range n {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Watch on a file truncated to nothing = %v, want ErrCorrupt", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Watch had not returned 10s after the file was truncated to nothing")
		}
	}
	if _, _, err := db.Watch(context.Background(), []byte("k"), ver); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a new Watch on the truncated file = %v, want ErrCorrupt", err)
	}
}
