//go:build unix

package lincheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

// config is one run of the harness: rounds, each on a fresh store file, each
// checked on its own so that porcupine's work stays small (a two-key Update
// rules out partitioning by key; a round's history is the unit instead).
type config struct {
	store         string        // storeKV or a broken store
	atomicUpdates bool          // check Updates as atomic; false: each key on its own (splitUpdates)
	rounds        int           // rounds to run (duration, if set, overrides)
	duration      time.Duration // run rounds until this much time has passed
	round         time.Duration // how long the clients of a round run
	writers       []int         // a writer process per entry: its clients (goroutines, one history each)
	readers       int           // reader processes, one client each
	readerPause   time.Duration // mean pause (spinning) of a reader after each Get
	writerPause   time.Duration // and of a writer after each operation
	killEvery     time.Duration // mean time between SIGKILLs of a random writer; 0: none
	checkTimeout  time.Duration // porcupine's limit per round
	visDir        string        // where a failure's visualization goes
}

// defaultConfig is what CI runs. Long runs set the MAPKV_LINCHECK_*
// variables (docs/testing.md, "Linearizability").
func defaultConfig(t *testing.T) config {
	c := config{
		store: storeKV, rounds: 10, round: 100 * time.Millisecond,
		writers: []int{2, 1, 1}, readers: 2,
		readerPause: 20 * time.Microsecond, writerPause: 20 * time.Microsecond,
		killEvery: 40 * time.Millisecond, checkTimeout: time.Minute, visDir: visDirDefault,
	}
	envInt := func(name string, p *int) {
		if s := os.Getenv(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				t.Fatalf("%s=%q: want a count", name, s)
			}
			*p = n
		}
	}
	envDur := func(name string, p *time.Duration) {
		if s := os.Getenv(name); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d < 0 {
				t.Fatalf("%s=%q: want a duration such as 30s", name, s)
			}
			*p = d
		}
	}
	envInt("MAPKV_LINCHECK_ROUNDS", &c.rounds)
	envDur("MAPKV_LINCHECK_DURATION", &c.duration)
	envDur("MAPKV_LINCHECK_ROUND", &c.round)
	if s := os.Getenv("MAPKV_LINCHECK_WRITERS"); s != "" {
		c.writers = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n < 1 {
				t.Fatalf("MAPKV_LINCHECK_WRITERS=%q: want the clients of each writer process, such as 2,1,1", s)
			}
			c.writers = append(c.writers, n)
		}
	}
	envInt("MAPKV_LINCHECK_READERS", &c.readers)
	envDur("MAPKV_LINCHECK_READER_PAUSE", &c.readerPause)
	envDur("MAPKV_LINCHECK_WRITER_PAUSE", &c.writerPause)
	envDur("MAPKV_LINCHECK_KILL_EVERY", &c.killEvery)
	envDur("MAPKV_LINCHECK_CHECK_TIMEOUT", &c.checkTimeout)
	c.atomicUpdates = true
	switch u := os.Getenv("MAPKV_LINCHECK_UPDATES"); u {
	case "", "atomic":
	case "per-key":
		c.atomicUpdates = false
	default:
		t.Fatalf("MAPKV_LINCHECK_UPDATES=%q: want atomic or per-key", u)
	}
	if len(c.writers) == 0 {
		t.Fatal("MAPKV_LINCHECK_WRITERS must name at least one writer process")
	}
	return c
}

// roundResult is what one round did and what porcupine said of it.
type roundResult struct {
	historyStats
	clients, kills int
	verdict        verdict
}

// A proc is a running writer or reader process.
type proc struct {
	name   string
	cmd    *exec.Cmd
	logs   []int         // its clients' indexes in the round's logs
	done   chan struct{} // closed once err is set
	err    error         // cmd.Wait's
	killed bool
}

// startup is how long the parent gives each child process to start, and
// warmUp how long the clients then run before they record (client.warmUp).
const (
	startup = 15 * time.Millisecond
	warmUp  = 20 * time.Millisecond
)

// runRound starts the writer and reader processes on a fresh store, kills a
// random writer now and then and starts another in its place, waits for all
// of them to reach the round's deadline, reads every hot key from the parent
// (nothing else runs then), and returns the merged history, to be checked.
func runRound(t *testing.T, cfg config, rng *rand.Rand) (roundResult, []porcupine.Operation) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "store.kv")
	db, err := kv.Open(path, nil) // created here, not raced for by the children
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// The clients start together once every process has had time to start
	// and open the store.
	start := now() + int64(startup*time.Duration(len(cfg.writers)+cfg.readers))
	record := start + int64(warmUp)
	deadline := record + int64(cfg.round)
	var logs []clientLog
	var procs []*proc
	spawn := func(role string, clients int, pause time.Duration) *proc {
		first := len(logs)
		p := &proc{name: fmt.Sprintf("%s of clients %d-%d", role, first, first+clients-1), done: make(chan struct{})}
		for i := range clients {
			p.logs = append(p.logs, len(logs))
			logs = append(logs, clientLog{path: historyPath(dir, first+i), reader: role == "reader"})
		}
		spec, err := json.Marshal(procSpec{Path: path, Store: cfg.store, Dir: dir, First: first, Clients: clients,
			Seed: rng.Uint64(), Start: start, Record: record, Deadline: deadline, Pause: pause})
		if err != nil {
			t.Fatal(err)
		}
		p.cmd = testproc.Command(t, role, string(spec))
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", role, err)
		}
		go func() { p.err = p.cmd.Wait(); close(p.done) }()
		procs = append(procs, p)
		return p
	}
	writers := make([]*proc, len(cfg.writers))
	for i := range writers {
		writers[i] = spawn("writer", cfg.writers[i], cfg.writerPause)
	}
	for range cfg.readers {
		spawn("reader", 1, cfg.readerPause)
	}

	var res roundResult
	time.Sleep(time.Duration(record - now()))
	for cfg.killEvery > 0 {
		wait := time.Duration(rng.ExpFloat64() * float64(cfg.killEvery))
		// Leave a restarted writer time to open the store and work.
		if now()+int64(wait+20*time.Millisecond) > deadline {
			break
		}
		time.Sleep(wait)
		i := rng.IntN(len(writers))
		p := writers[i]
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		if !killedBySignal(p.err) {
			// It ended first: the sleep overran the deadline on a busy
			// machine (checked below like any other end), or it failed.
			break
		}
		p.killed = true
		killedAt := now()
		for _, l := range p.logs {
			logs[l].killed, logs[l].killedAt = true, killedAt
		}
		res.kills++
		writers[i] = spawn("writer", cfg.writers[i], cfg.writerPause)
	}
	for _, p := range procs {
		if <-p.done; p.err != nil && !p.killed {
			t.Fatalf("%s: %v (its error is on stderr above)", p.name, p.err)
		}
	}

	// Every client has stopped. A write from the parent finishes whatever
	// committed log a killed writer left, so that the final read is the
	// state every operation has settled into.
	if err := db.Put([]byte("settle"), nil); err != nil {
		t.Fatal(err)
	}
	settled := now()
	final := porcupine.Operation{ClientId: len(logs), Input: input{Kind: opFinal}, Call: now()}
	var out output
	for k := range nKeys {
		v, err := db.Get([]byte(hotKeys[k]))
		out.Found[k], out.Vals[k], err = readResult(v, err)
		if err != nil {
			t.Fatal(err)
		}
	}
	final.Output, final.Return = out, now()

	ops, st, err := loadHistory(logs, settled)
	if err != nil {
		t.Fatal(err)
	}
	res.historyStats, res.clients = st, len(logs)
	ops = append(ops, final)
	if !cfg.atomicUpdates {
		ops = splitUpdates(ops)
	}
	return res, ops
}

// runRounds runs cfg's rounds and calls report with each in order once it is
// checked; report returns false to stop. Round r is checked while round r+1
// runs: the checker's load on the CPU only adds to the preemptions the test
// wants.
func runRounds(t *testing.T, cfg config, rng *rand.Rand, report func(r int, res roundResult) bool) {
	t.Helper()
	start := time.Now()
	more := func(r int) bool {
		if cfg.duration > 0 {
			return time.Since(start) < cfg.duration
		}
		return r < cfg.rounds
	}
	var prev chan roundResult
	for r := 0; ; r++ {
		var next chan roundResult
		if more(r) {
			res, ops := runRound(t, cfg, rng)
			next = make(chan roundResult, 1)
			go func() {
				res.verdict = check(ops, cfg.checkTimeout, cfg.visDir)
				next <- res
			}()
		}
		if prev != nil && !report(r-1, <-prev) {
			if next != nil {
				<-next
			}
			return
		}
		if next == nil {
			return
		}
		prev = next
	}
}

func killedBySignal(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// totals sums a run's rounds for its log line.
type totals struct {
	rounds, ops, maxOps, pending, kills int
	check, maxCheck                     time.Duration
}

func (s *totals) add(r roundResult) {
	s.rounds++
	s.ops += r.ops
	s.maxOps = max(s.maxOps, r.ops)
	s.pending += r.pending
	s.kills += r.kills
	s.check += r.verdict.took
	s.maxCheck = max(s.maxCheck, r.verdict.took)
}

func (s totals) String() string {
	return fmt.Sprintf("%d rounds, %d operations (at most %d in a round), %d writers killed, %d operations of unknown outcome; porcupine %.2fs in all, at most %.2fs for a round",
		s.rounds, s.ops, s.maxOps, s.kills, s.pending, s.check.Seconds(), s.maxCheck.Seconds())
}

// seed is the run's random seed, printed so that a run's choices (not its
// schedule, which the kernel makes) can be repeated.
func seed(t *testing.T) uint64 {
	if s := os.Getenv("MAPKV_LINCHECK_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("MAPKV_LINCHECK_SEED=%q: %v", s, err)
		}
		return n
	}
	return rand.Uint64() & math.MaxInt32
}
