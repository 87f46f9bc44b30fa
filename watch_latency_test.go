//go:build unix

// Watch across real processes: how soon 1 or 1000 watching goroutines in one
// process wake after a write in another, against a pipe's reader as the
// baseline, and that a watcher sees another process's versions and ends with
// its context.

package mapkv_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

// latencyKey is the key the latency writer puts and the watcher watches.
var latencyKey = []byte("clock")

// writeGap is the pause between the latency writers' writes with one
// watcher: long enough that the watcher is asleep again before the next one.
// With many watchers it is longer (gapFor): all of them must have gone back
// to sleep.
const writeGap = 2 * time.Millisecond

// gapFor is the pause between writes when w goroutines watch.
func gapFor(w int) time.Duration {
	if w > 1 {
		return 20 * time.Millisecond
	}
	return writeGap
}

// The watch roles are watch-<role> for each role of runWatchChild; they take
// a path, how many writes, how many watching goroutines and the gap between
// writes (watchChildOf).
func init() {
	for _, role := range []string{"watcher", "writer", "pipe-reader", "pipe-writer", "stepper"} {
		testproc.Register("watch-"+role, func(args []string) error {
			if len(args) != 4 {
				return fmt.Errorf("want path, writes, watchers and gap, got %q", args)
			}
			n, err := strconv.Atoi(args[1])
			if err != nil {
				return err
			}
			w, err := strconv.Atoi(args[2])
			if err != nil {
				return err
			}
			gap, err := time.ParseDuration(args[3])
			if err != nil {
				return err
			}
			return runWatchChild(role, args[0], n, max(w, 1), max(gap, writeGap))
		})
	}
}

// watchChild returns the test binary set up to run as a child in role, with
// one watcher and writeGap between writes.
func watchChild(t *testing.T, role, path string, n int) *exec.Cmd {
	return watchChildOf(t, role, path, n, 1, writeGap)
}

// watchChildOf is watchChild with w watching goroutines and gap between
// writes.
func watchChildOf(t *testing.T, role, path string, n, w int, gap time.Duration) *exec.Cmd {
	return testproc.Command(t, "watch-"+role, path, strconv.Itoa(n), strconv.Itoa(w), gap.String())
}

func runWatchChild(role, path string, n, w int, gap time.Duration) error {
	switch role {
	case "watcher": // prints "ready", then "goroutine write latency" for each write each of w goroutines sees
		return latencyWatchers(path, n, w)
	case "writer": // puts n stamps, gap apart, then prints how long each Put took
		db, err := kv.Open(path, nil)
		if err != nil {
			return err
		}
		defer db.Close()
		took := make([]time.Duration, 0, n)
		for i := range n {
			time.Sleep(gap)
			start := time.Now()
			if err := db.Put(latencyKey, stamp(i)); err != nil {
				return err
			}
			took = append(took, time.Since(start))
		}
		return printLatencies(took)
	case "pipe-reader": // prints "ready", then the latency of each stamp read from stdin
		return pipeReader(n)
	case "pipe-writer": // writes n stamps to stdout, gap apart
		for range n {
			time.Sleep(gap)
			if _, err := os.Stdout.Write(stamp(0)[8:]); err != nil {
				return err
			}
		}
		return nil
	case "stepper": // runs "put VALUE" and "del" lines from stdin, acknowledging each
		return stepper(path)
	}
	return fmt.Errorf("unknown role %q", role)
}

// stamp is the value the latency writers send: sequence number i and the
// wall clock in nanoseconds, taken just before the write (one clock for every
// process on the host).
func stamp(i int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(i))
	return binary.LittleEndian.AppendUint64(b, uint64(time.Now().UnixNano()))
}

// sinceStamp returns the time since the wall clock ts of a stamp.
func sinceStamp(ts []byte) time.Duration {
	return time.Duration(time.Now().UnixNano() - int64(binary.LittleEndian.Uint64(ts)))
}

// latencyWatchers runs w goroutines that each watch latencyKey until they
// have seen write n-1, and prints, for each write each goroutine saw, the
// goroutine, the write's number and its latency. Writes that land while a
// goroutine is awake are seen as their latest result only; a missed one
// shows as a missing sample. Every Watch must return within 10s.
func latencyWatchers(path string, n, w int) error {
	db, err := kv.Open(path, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	_, ver, err := db.Watch(context.Background(), latencyKey, 0)
	if err != nil {
		return err
	}
	type sample struct {
		write int
		lat   time.Duration
	}
	samples := make([][]sample, w)
	errs := make(chan error, w)
	var started, done sync.WaitGroup
	started.Add(w)
	for g := range w {
		done.Add(1)
		go func() {
			defer done.Done()
			ver := ver
			first := true
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if first { // the first Watch is about to wait: count it ready
					started.Done()
					first = false
				}
				var v []byte
				var err error
				v, ver, err = db.Watch(ctx, latencyKey, ver)
				cancel()
				if err != nil {
					errs <- fmt.Errorf("goroutine %d: Watch after %d writes: %w", g, len(samples[g]), err)
					return
				}
				if len(v) != 16 {
					errs <- fmt.Errorf("value of %d bytes, want a 16-byte stamp", len(v))
					return
				}
				i := int(binary.LittleEndian.Uint64(v))
				samples[g] = append(samples[g], sample{i, sinceStamp(v[8:])})
				if i == n-1 {
					return
				}
			}
		}()
	}
	started.Wait()
	time.Sleep(50 * time.Millisecond) // let the last of them reach its wait
	fmt.Println("ready")
	done.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	for g, ss := range samples {
		for _, s := range ss {
			fmt.Fprintln(out, g, s.write, int64(s.lat))
		}
	}
	return out.Flush()
}

// pipeReader reads n stamps from stdin, blocked in read(2) between them, and
// prints the latency of each.
func pipeReader(n int) error {
	fmt.Println("ready")
	lat := make([]time.Duration, 0, n)
	var ts [8]byte
	for range n {
		if _, err := io.ReadFull(os.Stdin, ts[:]); err != nil {
			return fmt.Errorf("after %d stamps: %w", len(lat), err)
		}
		lat = append(lat, sinceStamp(ts[:]))
	}
	return printLatencies(lat)
}

func printLatencies(lat []time.Duration) error {
	w := bufio.NewWriter(os.Stdout)
	for _, d := range lat {
		fmt.Fprintln(w, int64(d))
	}
	return w.Flush()
}

// stepper applies the commands on stdin to key "k" of path, each 20ms after
// it reads it, so that the parent is already waiting, and prints "ok" after
// each.
func stepper(path string) error {
	db, err := kv.Open(path, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		time.Sleep(20 * time.Millisecond)
		switch cmd, v, _ := strings.Cut(in.Text(), " "); cmd {
		case "put":
			err = db.Put([]byte("k"), []byte(v))
		case "del":
			err = db.Delete([]byte("k"))
		default:
			err = fmt.Errorf("unknown command %q", in.Text())
		}
		if err != nil {
			return err
		}
		fmt.Println("ok")
	}
	return in.Err()
}

// latencies runs reader, which must print "ready" and then one latency in
// nanoseconds per line, starts writer once reader is ready, closes files (the
// parent's ends of a pipe the two now have), and returns what reader printed.
func latencies(t *testing.T, reader, writer *exec.Cmd, files ...*os.File) []time.Duration {
	t.Helper()
	lines, wait := started(t, reader, writer, files...)
	lat := parseDurations(t, lines)
	wait()
	return lat
}

// started runs reader, which must print "ready" first, starts writer once
// reader is ready, closes files, and returns the rest of reader's output and a
// function that waits for both. The caller reads the output to its end first.
func started(t *testing.T, reader, writer *exec.Cmd, files ...*os.File) (*bufio.Scanner, func()) {
	t.Helper()
	out, err := reader.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := reader.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Process.Kill() }) // a no-op once it has been waited for
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("the reader did not say ready: %q, %v", lines.Text(), lines.Err())
	}
	if err := writer.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { writer.Process.Kill() })
	for _, f := range files {
		f.Close()
	}
	return lines, func() {
		t.Helper()
		if err := writer.Wait(); err != nil {
			t.Fatalf("writer: %v", err)
		}
		if err := reader.Wait(); err != nil {
			t.Fatalf("reader: %v", err)
		}
	}
}

// parseDurations returns the durations in nanoseconds, one a line, that
// lines has left.
func parseDurations(t *testing.T, lines *bufio.Scanner) []time.Duration {
	t.Helper()
	var ds []time.Duration
	for lines.Scan() {
		ns, err := strconv.ParseInt(lines.Text(), 10, 64)
		if err != nil {
			t.Fatalf("a child printed %q, want nanoseconds", lines.Text())
		}
		ds = append(ds, time.Duration(ns))
	}
	return ds
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted, nearest
// rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(float64(len(sorted))*p/100)) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// TestWatchWakeupLatency measures how long a write in one process takes to
// wake a Watch in another, from just before Put to just after Watch returns,
// against a write(2) of 8 bytes waking a read(2) on a pipe with the same
// pause between writes, with 1 and with 1000 goroutines watching the key in
// the watching process. It logs the figures and asserts nothing about time:
// only that every Watch returned.
func TestWatchWakeupLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("a measurement: skipped with -short")
	}
	many := 1000
	if testproc.RaceEnabled {
		many = 100
	}
	for _, w := range []int{1, many} {
		t.Run(fmt.Sprintf("watchers=%d", w), func(t *testing.T) { wakeupLatency(t, w) })
	}
}

func wakeupLatency(t *testing.T, w int) {
	// Three rounds of 100, alternating, so that both see the same mix of
	// process placements (see the end) and of whatever else the host does.
	const rounds, n = 3, 100
	gap := gapFor(w)
	var all, first, last, pipe, put []time.Duration
	seen := 0
	for r := range rounds {
		wr := watchRound(t, r, n, w, gap)
		all, first, last = append(all, wr.all...), append(first, wr.first...), append(last, wr.last...)
		put, seen = append(put, wr.put...), seen+len(wr.first)
		pipe = append(pipe, pipeRound(t, n, gap)...)
	}
	const total = rounds * n
	if len(put) != total || len(pipe) != total {
		t.Fatalf("the writer timed %d Puts, the pipe reader saw %d stamps; want %d each", len(put), len(pipe), total)
	}
	for _, s := range [][]time.Duration{all, first, last, pipe, put} {
		slices.Sort(s)
	}
	t.Logf("%d watching goroutine(s), %v between writes; %d of %d writes seen, %d wake-ups of %d possible one by one (others landed while the watchers were awake)",
		w, gap, seen, total, len(all), w*total)
	t.Logf("watch wake-up: median %v, p99 %v, max %v (from before Put to after Watch, every goroutine's)",
		percentile(all, 50), percentile(all, 99), all[len(all)-1])
	if w > 1 {
		t.Logf("  first goroutine woken per write: median %v, p99 %v; last: median %v, p99 %v",
			percentile(first, 50), percentile(first, 99), percentile(last, 50), percentile(last, 99))
	}
	t.Logf("Put alone: median %v, p99 %v (in the writer: commit and futex wake, the latter overlapping the watcher's wake-up)",
		percentile(put, 50), percentile(put, 99))
	t.Logf("pipe  wake-up: median %v, p99 %v, max %v (from before write to after read)",
		percentile(pipe, 50), percentile(pipe, 99), pipe[len(pipe)-1])
	t.Logf("median(watch)/median(pipe) = %.2f", float64(percentile(all, 50))/float64(percentile(pipe, 50)))
	// A wake-up of a process asleep on another CPU is the bulk of both on an
	// idle machine; when the scheduler happens to run the pipe's two ends on
	// one CPU (a pipe write is a "sync" wake-up that invites it) the pipe
	// wins by several times. Both vary from run to run.
	if testproc.RaceEnabled {
		t.Log("(with -race: both sides instrumented, the numbers say little)")
	}
}

// watchWakeups is what one watch round measured: every goroutine's wake-up
// latencies, the first and the last goroutine's per write, and the writer's
// Put durations.
type watchWakeups struct {
	all, first, last, put []time.Duration
}

// watchRound runs a watcher process with w goroutines and a writer of n
// stamps gap apart on a new file.
func watchRound(t *testing.T, round, n, w int, gap time.Duration) watchWakeups {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("latency-%d.kv", round))
	db, err := kv.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Put(latencyKey, stamp(-1)); err != nil {
		t.Fatal(err)
	}
	var puts bytes.Buffer
	writer := watchChildOf(t, "writer", path, n, w, gap)
	writer.Stdout = &puts
	lines, wait := started(t, watchChildOf(t, "watcher", path, n, w, gap), writer)
	var r watchWakeups
	first, last := map[int]time.Duration{}, map[int]time.Duration{}
	for lines.Scan() {
		var g, i int
		var ns int64
		if _, err := fmt.Sscan(lines.Text(), &g, &i, &ns); err != nil {
			t.Fatalf("the watcher printed %q: %v", lines.Text(), err)
		}
		d := time.Duration(ns)
		r.all = append(r.all, d)
		if f, ok := first[i]; !ok || d < f {
			first[i] = d
		}
		last[i] = max(last[i], d)
	}
	for i, d := range first {
		r.first, r.last = append(r.first, d), append(r.last, last[i])
	}
	wait()
	r.put = parseDurations(t, bufio.NewScanner(&puts))
	return r
}

// pipeRound runs a pipe reader and a pipe writer of n stamps gap apart and
// returns the reader's latencies.
func pipeRound(t *testing.T, n int, gap time.Duration) []time.Duration {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close() // in case latencies fails before it closes them
	defer pw.Close()
	reader, writer := watchChildOf(t, "pipe-reader", "", n, 1, gap), watchChildOf(t, "pipe-writer", "", n, 1, gap)
	reader.Stdin, writer.Stdout = pr, pw
	return latencies(t, reader, writer, pr, pw)
}

// TestWatchAcrossProcesses: a watcher here sees each version a writer
// process makes, and a deletion, through a read-write handle (futex) and a
// read-only one (polling); and a Watch with nothing to see ends with its
// context.
func TestWatchAcrossProcesses(t *testing.T) {
	for _, ro := range []bool{false, true} {
		t.Run(map[bool]string{false: "read-write", true: "read-only"}[ro], func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "watch.kv")
			db, err := kv.Open(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Put([]byte("k"), []byte("v0")); err != nil {
				t.Fatal(err)
			}
			if ro {
				db.Close()
				if db, err = kv.Open(path, &kv.Options{ReadOnly: true}); err != nil {
					t.Fatal(err)
				}
			}
			defer db.Close()
			watchAcrossProcesses(t, db, path)
		})
	}
}

func watchAcrossProcesses(t *testing.T, db *kv.DB, path string) {
	child := watchChild(t, "stepper", path, 0)
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
	acks := bufio.NewScanner(out)
	step := func(cmd string) {
		t.Helper()
		if _, err := fmt.Fprintln(in, cmd); err != nil {
			t.Fatal(err)
		}
	}
	acked := func() {
		t.Helper()
		if !acks.Scan() || acks.Text() != "ok" {
			t.Fatalf("the writer did not acknowledge: %q, %v", acks.Text(), acks.Err())
		}
	}
	watch := func(since uint64, d time.Duration) ([]byte, uint64, time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		start := time.Now()
		v, ver, err := db.Watch(ctx, []byte("k"), since)
		return v, ver, time.Since(start), err
	}

	_, ver, _, err := watch(0, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{ver: true}
	for i := 1; i <= 5; i++ {
		want := fmt.Sprintf("v%d", i)
		step("put " + want) // the child writes 20ms from now, while we wait
		v, next, took, err := watch(ver, 5*time.Second)
		if err != nil || string(v) != want {
			t.Fatalf("Watch after the other process put %q = %q, %v", want, v, err)
		}
		if seen[next] {
			t.Fatalf("write %d: version %d seen before", i, next)
		}
		acked()
		t.Logf("%s seen after %v (the write came after about 20ms)", want, took)
		seen[next], ver = true, next
	}

	// Nothing happens: the context ends the Watch, promptly.
	_, _, took, err := watch(ver, 200*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || took > 2*time.Second {
		t.Fatalf("Watch with a 200ms timeout and no write = %v after %v; want DeadlineExceeded within 2s", err, took)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	if _, _, err := db.Watch(ctx, []byte("k"), ver); !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Fatalf("Watch cancelled after 100ms = %v after %v; want Canceled within 2s", err, time.Since(start))
	}

	// A deletion in the other process is version 0 and ErrNotFound.
	step("del")
	if _, ver, _, err := watch(ver, 5*time.Second); !errors.Is(err, kv.ErrNotFound) || ver != 0 {
		t.Fatalf("Watch after the other process deleted the key = version %d, %v; want 0, ErrNotFound", ver, err)
	}
	acked()
	in.Close()
	if err := child.Wait(); err != nil {
		t.Fatalf("writer: %v", err)
	}
}
