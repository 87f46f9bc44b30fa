//go:build linux

package kv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mapkv/mapkv/internal/testproc"
)

// Watch at scale: many goroutines waiting hold few OS threads, all wake on
// another process's write, each ends promptly with its context, Close ends
// them, and the waiter goes away with the last of them.

func init() {
	// putall PATH PREFIX N VALUE: puts VALUE under PREFIX0..PREFIX(N-1) and
	// under "shared", in batches.
	testproc.Register("putall", func(args []string) error {
		if len(args) != 4 {
			return fmt.Errorf("want PATH PREFIX N VALUE, got %q", args)
		}
		n, err := strconv.Atoi(args[2])
		if err != nil {
			return err
		}
		db, err := Open(args[0], nil)
		if err != nil {
			return err
		}
		defer db.Close()
		for i := 0; i < n; i += 500 {
			err := db.Update(func(tx *Tx) error {
				for j := i; j < min(i+500, n); j++ {
					if err := tx.Put([]byte(args[1]+strconv.Itoa(j)), []byte(args[3])); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return db.Put([]byte("shared"), []byte(args[3]))
	})
}

// threads is the number of OS threads of this process (/proc/self/status).
func threads(t testing.TB) int {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads: line in /proc/self/status")
	return 0
}

// threadPeak samples the thread count every few milliseconds until stopped,
// and returns the highest it saw.
func threadPeak(t *testing.T) (stop func() int) {
	var peak atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			peak.Store(max(peak.Load(), int64(threads(t))))
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() int {
		close(done)
		wg.Wait()
		return int(peak.Load())
	}
}

// maxThreads is the generous bound on the threads of a test process with
// thousands of watchers: the runtime's own few, one waiter per handle, and
// threads blocked in other system calls for a moment. One thread per watcher
// would be thousands.
const maxThreads = 50

// TestWatchScale: 10,000 goroutines (half on distinct absent keys, half on one
// shared key) wait on one read-write handle with few threads; a writer process
// puts every key and all of them wake with its value; while they wait, single
// watchers cancelled one by one return promptly.
func TestWatchScale(t *testing.T) {
	for _, ro := range []bool{false, true} {
		t.Run(map[bool]string{false: "futex", true: "read-only-polling"}[ro], func(t *testing.T) {
			watchScale(t, ro)
		})
	}
}

func watchScale(t *testing.T, readOnly bool) {
	const distinct, shared, cancelled = 5000, 5000, 100
	rw, path := openTemp(t, nil)
	if err := rw.Put([]byte("shared"), []byte("v0")); err != nil {
		t.Fatal(err)
	}
	db := rw
	if readOnly {
		var err error
		if db, err = Open(path, &Options{ReadOnly: true}); err != nil {
			t.Fatal(err)
		}
		defer db.Close()
	}
	_, sharedVer, err := db.Watch(context.Background(), []byte("shared"), 0)
	if err != nil {
		t.Fatal(err)
	}
	before := threads(t)
	peak := threadPeak(t)

	ctx, cancelAll := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancelAll()
	var wg sync.WaitGroup
	errs := make(chan error, distinct+shared)
	watch := func(key string, since uint64) {
		defer wg.Done()
		v, _, err := db.Watch(ctx, []byte(key), since)
		switch {
		case err != nil:
			errs <- fmt.Errorf("Watch(%s): %w", key, err)
		case string(v) != "v1":
			errs <- fmt.Errorf("Watch(%s) woke with %q, want v1", key, v)
		}
	}
	wg.Add(distinct + shared)
	for i := range distinct {
		go watch("d"+strconv.Itoa(i), 0)
	}
	for range shared {
		go watch("shared", sharedVer)
	}
	if !waitFor(time.Minute, func() bool { return db.watchers.registered() == distinct+shared }) {
		t.Fatalf("%d of %d watchers waiting after a minute", db.watchers.registered(), distinct+shared)
	}
	during := threads(t)
	t.Logf("threads: %d before, %d with %d goroutines waiting", before, during, distinct+shared)
	if during >= maxThreads {
		t.Errorf("%d threads with %d watchers waiting, want < %d", during, distinct+shared, maxThreads)
	}

	// Cancel single watchers while the others wait: each returns at once.
	took := make([]time.Duration, 0, cancelled)
	for range cancelled {
		cctx, cancel := context.WithCancel(context.Background())
		ended := make(chan error, 1)
		go func() {
			_, _, err := db.Watch(cctx, []byte("shared"), sharedVer)
			ended <- err
		}()
		if !waitFor(10*time.Second, func() bool { return db.watchers.registered() == distinct+shared+1 }) {
			t.Fatal("the watcher to cancel never waited")
		}
		start := time.Now()
		cancel()
		select {
		case err := <-ended:
			took = append(took, time.Since(start))
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled Watch = %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a cancelled Watch had not returned after 10s")
		}
		if !waitFor(10*time.Second, func() bool { return db.watchers.registered() == distinct+shared }) {
			t.Fatal("the cancelled watcher did not leave")
		}
	}
	slices.Sort(took)
	median := took[len(took)/2]
	t.Logf("cancel to return, among %d waiting: median %v, max %v (%d samples)", distinct+shared, median, took[len(took)-1], len(took))
	if median > 50*time.Millisecond { // a sanity bound, not a speed target
		t.Errorf("a cancelled Watch took a median %v to return", median)
	}

	// Another process writes every key: every watcher wakes with its value.
	start := time.Now()
	child := testproc.Command(t, "putall", path, "d", strconv.Itoa(distinct), "v1")
	if err := child.Run(); err != nil {
		t.Fatalf("writer process: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("all %d woke %v after the writer started (it runs 11 commits)", distinct+shared, time.Since(start))
	if p := peak(); p >= maxThreads {
		t.Errorf("peak of %d threads during the test, want < %d", p, maxThreads)
	} else {
		t.Logf("peak threads during the test: %d", p)
	}
}

// TestWatchClose: Close with watchers waiting returns, they all get ErrClosed,
// and the waiter is gone.
func TestWatchClose(t *testing.T) {
	for _, ro := range []bool{false, true} {
		t.Run(map[bool]string{false: "futex", true: "read-only-polling"}[ro], func(t *testing.T) {
			rw, path := openTemp(t, nil)
			db := rw
			if ro {
				var err error
				if db, err = Open(path, &Options{ReadOnly: true}); err != nil {
					t.Fatal(err)
				}
			}
			base := runtime.NumGoroutine()
			const n = 1000
			errs := make(chan error, n)
			for i := range n {
				go func() {
					_, _, err := db.Watch(context.Background(), []byte("k"+strconv.Itoa(i%10)), 0)
					errs <- err
				}()
			}
			if !waitFor(time.Minute, func() bool { return db.watchers.registered() == n }) {
				t.Fatalf("%d of %d watchers waiting", db.watchers.registered(), n)
			}
			start := time.Now()
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			t.Logf("Close with %d watchers took %v", n, time.Since(start))
			for range n {
				select {
				case err := <-errs:
					if !errors.Is(err, ErrClosed) {
						t.Fatalf("Watch during Close = %v, want ErrClosed", err)
					}
				case <-time.After(time.Minute):
					t.Fatal("a watcher had not returned a minute after Close")
				}
			}
			if db.watchers.isRunning() {
				t.Fatal("the waiter still runs after Close")
			}
			if !waitFor(10*time.Second, func() bool { return runtime.NumGoroutine() <= base }) {
				t.Fatalf("%d goroutines after Close, %d before the watchers", runtime.NumGoroutine(), base)
			}
			if _, _, err := db.Watch(context.Background(), []byte("k"), 0); !errors.Is(err, ErrClosed) {
				t.Fatalf("Watch after Close = %v, want ErrClosed", err)
			}
		})
	}
}

// TestWatchWaiterLeaves: once the last watcher has gone, the waiter stops
// and the goroutine count settles back; a new watcher starts it again.
func TestWatchWaiterLeaves(t *testing.T) {
	db, _ := openTemp(t, nil)
	base := runtime.NumGoroutine()
	for round := range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for i := range 500 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db.Watch(ctx, []byte("k"+strconv.Itoa(i%7)), 0)
			}()
		}
		if !waitFor(time.Minute, func() bool { return db.watchers.registered() == 500 }) {
			t.Fatalf("round %d: %d of 500 watchers waiting", round, db.watchers.registered())
		}
		if !db.watchers.isRunning() {
			t.Fatalf("round %d: no waiter with 500 watchers", round)
		}
		cancel()
		wg.Wait()
		// The waiter notices at its next wake-up, within a slice.
		if !waitFor(10*time.Second, func() bool { return !db.watchers.isRunning() && runtime.NumGoroutine() <= base }) {
			t.Fatalf("round %d: waiter running %v, %d goroutines, %d before", round, db.watchers.isRunning(), runtime.NumGoroutine(), base)
		}
	}
}

// TestGetOrComputeStampede: thousands of goroutines ask for one missing key
// at once; fn runs once, all get its value, and the waiting ones hold no
// thread each.
func TestGetOrComputeStampede(t *testing.T) {
	db, _ := openTemp(t, &Options{ComputeTimeout: time.Minute})
	const n = 5000
	before := threads(t)
	peak := threadPeak(t)
	var calls atomic.Int32
	var waiting, during int
	fn := func() ([]byte, error) {
		calls.Add(1)
		// Hold the lease until every other caller waits for it.
		waitFor(time.Minute, func() bool { return db.watchers.registered() == n-1 })
		waiting, during = db.watchers.registered(), threads(t)
		return []byte("computed"), nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := db.GetOrCompute(context.Background(), []byte("missing"), time.Hour, fn)
			if err != nil || string(v) != "computed" {
				errs <- fmt.Errorf("GetOrCompute = %q, %v", v, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	p := peak()
	t.Logf("%d callers done in %v; threads %d before, %d while %d waited, peak %d", n, time.Since(start), before, during, waiting, p)
	if calls.Load() != 1 {
		t.Fatalf("fn ran %d times, want once", calls.Load())
	}
	if waiting != n-1 {
		t.Fatalf("%d callers waited while fn ran, want %d", waiting, n-1)
	}
	if during >= maxThreads || p >= maxThreads {
		t.Fatalf("%d threads while %d callers waited (peak %d), want < %d", during, waiting, p, maxThreads)
	}
}

// BenchmarkWatchWakeup: how long a Put through another handle takes to wake
// every one of w goroutines watching the key it writes, in one process (no
// cross-process wake-up: the fan-out's own cost).
func BenchmarkWatchWakeup(b *testing.B) {
	for _, w := range []int{1, 1000} {
		b.Run(fmt.Sprintf("watchers=%d", w), func(b *testing.B) {
			db, path := openTemp(b, nil)
			writer, err := Open(path, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer writer.Close()
			writer.Put([]byte("k"), []byte("0"))
			_, ver, _ := db.Watch(context.Background(), []byte("k"), 0)
			var woke sync.WaitGroup
			rounds := make([]chan uint64, w)
			for g := range w {
				rounds[g] = make(chan uint64)
				go func() {
					for since := range rounds[g] {
						db.Watch(context.Background(), []byte("k"), since)
						woke.Done()
					}
				}()
			}
			defer func() {
				for _, r := range rounds {
					close(r)
				}
			}()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				woke.Add(w)
				for _, r := range rounds {
					r <- ver
				}
				waitFor(time.Minute, func() bool { return db.watchers.registered() == w })
				b.StartTimer()
				writer.Put([]byte("k"), []byte(strconv.Itoa(i+1)))
				woke.Wait()
				_, ver, _ = db.Watch(context.Background(), []byte("k"), 0)
			}
		})
	}
}
