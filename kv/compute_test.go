//go:build unix

package kv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mapkv/mapkv/internal/testproc"
)

// leaseFor is the ComputeTimeout of the panic tests: long enough that a
// waiter that computes within it was not waiting for the lease to run out.
const leaseFor = time.Minute

// childPanic is what the compute-panic child's fn panics with.
const childPanic = "fn panics in the child"

func init() {
	// compute-panic PATH: takes the lease on "k", prints "leased", waits for
	// a line on stdin, then panics inside fn.
	testproc.Register("compute-panic", func(args []string) error {
		db, err := Open(args[0], &Options{ComputeTimeout: leaseFor})
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.GetOrCompute(context.Background(), []byte("k"), 0, func() ([]byte, error) {
			fmt.Println("leased")
			if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
				return nil, err
			}
			panic(childPanic)
		})
		return fmt.Errorf("GetOrCompute returned (%v) instead of panicking", err)
	})
}

func init() {
	// compute-hold PATH TIMEOUT: takes the lease on "k" with ComputeTimeout
	// TIMEOUT, prints "leased", and never returns from fn (the test kills it).
	testproc.Register("compute-hold", func(args []string) error {
		timeout, err := time.ParseDuration(args[1])
		if err != nil {
			return err
		}
		db, err := Open(args[0], &Options{ComputeTimeout: timeout})
		if err != nil {
			return err
		}
		_, err = db.GetOrCompute(context.Background(), []byte("k"), 0, func() ([]byte, error) {
			fmt.Println("leased")
			select {}
		})
		return fmt.Errorf("GetOrCompute returned (%v) while its fn blocks", err)
	})
}

// TestGetOrComputeLeaseHolderKilled: the process holding a lease is killed
// (SIGKILL: nothing withdraws the lease). Another caller waits at most until
// the lease expires, then computes the value itself, once; the dead lease is
// reclaimed and the file checks clean.
func TestGetOrComputeLeaseHolderKilled(t *testing.T) {
	const lease = 2 * time.Second
	db, path := openTemp(t, &Options{ComputeTimeout: lease})
	child := testproc.Command(t, "compute-hold", path, lease.String())
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "leased\n" {
		child.Process.Kill()
		t.Fatalf("the child said %q, %v; want leased", line, err)
	}
	if st := db.Stats(); st.Leases != 1 {
		t.Fatalf("Stats.Leases = %d with the child's lease held, want 1", st.Leases)
	}
	child.Process.Kill()
	child.Wait()
	killed := time.Now()
	var calls atomic.Int32
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v, err := db.GetOrCompute(ctx, []byte("k"), 0, func() ([]byte, error) {
		calls.Add(1)
		return []byte("computed after the holder died"), nil
	})
	if err != nil || string(v) != "computed after the holder died" || calls.Load() != 1 {
		t.Fatalf("GetOrCompute after the lease holder was killed = %q, %v, fn ran %d times", v, err, calls.Load())
	}
	t.Logf("computed %v after the lease holder was killed (lease %v)", time.Since(killed), lease)
	if st := db.Stats(); st.Leases != 0 || st.Keys != 1 {
		t.Fatalf("after: %d leases, %d keys; want 0 and 1", st.Leases, st.Keys)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestGetOrComputePanic: a fn that panics withdraws its lease on the way out
// (the panic reaches its caller unchanged), and the caller waiting for that
// lease computes at once instead of after ComputeTimeout.
func TestGetOrComputePanic(t *testing.T) {
	db, _ := openTemp(t, &Options{ComputeTimeout: leaseFor})
	ctx := context.Background()
	type boom struct{}
	leased := make(chan struct{})
	recovered := make(chan any, 1)
	go func() {
		defer func() { recovered <- recover() }()
		db.GetOrCompute(ctx, []byte("k"), 0, func() ([]byte, error) {
			close(leased)
			if !waitFor(time.Minute, func() bool { return db.watchers.registered() == 1 }) {
				return nil, errors.New("the other caller never waited")
			}
			panic(boom{})
		})
	}()
	<-leased
	start := time.Now()
	var calls atomic.Int32
	v, err := db.GetOrCompute(ctx, []byte("k"), 0, func() ([]byte, error) {
		calls.Add(1)
		return []byte("mine"), nil
	})
	took := time.Since(start)
	if r := <-recovered; r != (boom{}) {
		t.Fatalf("the panicking caller recovered %v, want its fn's panic value", r)
	}
	if err != nil || string(v) != "mine" || calls.Load() != 1 {
		t.Fatalf("waiting caller = %q, %v, fn ran %d times; want its own value, once", v, err, calls.Load())
	}
	t.Logf("the waiting caller computed %v after it began (the lease had %v to run)", took, leaseFor)
	if took > leaseFor/2 {
		t.Fatalf("the waiting caller took %v: it waited for the lease to run out", took)
	}
	if got, err := db.Get([]byte("k")); err != nil || string(got) != "mine" {
		t.Fatalf("Get after = %q, %v", got, err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestGetOrComputePanicAcrossProcesses: the lease holder is another process
// whose fn panics (and so the process dies); this process, waiting for the
// lease, gets the value it computes itself, well before ComputeTimeout.
func TestGetOrComputePanicAcrossProcesses(t *testing.T) {
	db, path := openTemp(t, &Options{ComputeTimeout: leaseFor})
	child := testproc.Command(t, "compute-panic", path)
	var stderr bytes.Buffer
	child.Stderr = &stderr
	in, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "leased\n" {
		t.Fatalf("the child said %q, %v; want leased", line, err)
	}
	type result struct {
		v   []byte
		err error
		at  time.Time
	}
	done := make(chan result, 1)
	var calls atomic.Int32
	go func() {
		v, err := db.GetOrCompute(context.Background(), []byte("k"), 0, func() ([]byte, error) {
			calls.Add(1)
			return []byte("computed here"), nil
		})
		done <- result{v, err, time.Now()}
	}()
	if !waitFor(time.Minute, func() bool { return db.watchers.registered() == 1 }) {
		t.Fatal("this process never waited for the child's lease")
	}
	start := time.Now()
	fmt.Fprintln(in, "panic now")
	werr := child.Wait()
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || !strings.Contains(stderr.String(), "panic: "+childPanic) {
		t.Fatalf("the child ended with %v, stderr %q; want a panic", werr, stderr.String())
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(leaseFor / 2):
		t.Fatalf("no value %v after the child's fn panicked (the lease runs %v)", leaseFor/2, leaseFor)
	}
	if r.err != nil || string(r.v) != "computed here" || calls.Load() != 1 {
		t.Fatalf("GetOrCompute here = %q, %v, fn ran %d times", r.v, r.err, calls.Load())
	}
	t.Logf("value computed here %v after the child was told to panic (the lease had %v to run)", r.at.Sub(start), leaseFor)
}

// TestGetOrComputeWaiterContext: a caller waiting for another's lease returns
// its context's error as soon as the context ends; the holder is unaffected.
func TestGetOrComputeWaiterContext(t *testing.T) {
	db, _ := openTemp(t, &Options{ComputeTimeout: leaseFor})
	leased, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		_, err := db.GetOrCompute(context.Background(), []byte("k"), 0, func() ([]byte, error) {
			close(leased)
			<-release
			return []byte("v"), nil
		})
		held <- err
	}()
	<-leased
	ctx, cancel := context.WithCancel(context.Background())
	waited := make(chan error, 1)
	go func() {
		_, err := db.GetOrCompute(ctx, []byte("k"), 0, func() ([]byte, error) {
			return nil, errors.New("the waiter must not compute")
		})
		waited <- err
	}()
	if !waitFor(time.Minute, func() bool { return db.watchers.registered() == 1 }) {
		t.Fatal("the second caller never waited")
	}
	start := time.Now()
	cancel()
	select {
	case err := <-waited:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled waiter = %v, want context.Canceled", err)
		}
		t.Logf("cancelled waiter returned %v after cancel", time.Since(start))
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled waiter had not returned after 10s")
	}
	if _, err := db.GetOrCompute(ctx, []byte("k"), 0, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("GetOrCompute with an ended context on a leased key = %v, want context.Canceled", err)
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if v, err := db.GetOrCompute(ctx, []byte("k"), 0, nil); err != nil || string(v) != "v" {
		t.Fatalf("GetOrCompute of a present key with an ended context = %q, %v; want the value", v, err)
	}
}
