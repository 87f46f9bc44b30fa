package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"
)

// The durable writes (issue 9, item 3): Puts that are on the device when
// they return, by one writer, by 4 goroutines sharing one handle and by 4
// processes with a handle each, on every durable store and on the floor
// (floor_linux.go). The machine's flush time drifts by several times within
// a minute, so every measurement runs in each of several rounds, the rounds
// interleave the stores and the report gives medians.

// floorName is the baseline's name: the floor of a durable write.
const floorName = "floor-pwrite-fdatasync"

// durableWriters is the number of writers of the concurrent workloads.
const durableWriters = 4

// durableMode is one way of writing durably.
type durableMode struct {
	workload  string
	writers   int
	processes bool // a process per writer, each with its own handle
}

var durableModes = []durableMode{
	{workload: "durable-put", writers: 1},
	{workload: "durable-put-4g", writers: durableWriters},
	{workload: "durable-put-4p", writers: durableWriters, processes: true},
}

// why returns why p cannot run m, or "".
func (m durableMode) why(p *Peer) string {
	switch {
	case m.writers == 1:
		return ""
	case p.Baseline:
		return "a baseline: its one writer is the floor of every row"
	case m.processes && !p.MultiProcess:
		return "a second process cannot open the store (see Stores)"
	case !m.processes && !p.ConcurrentPut:
		return "the adapter's Put is not safe for concurrent use"
	}
	return ""
}

// durableStore is a durable store loaded for the rounds.
type durableStore struct {
	p      *Peer
	dir    string
	loaded int64
}

// commitCounter is implemented by stores that count their commits: the
// report gives commits per write, which group commit brings below 1.
type commitCounter interface {
	Commits() (int64, error)
}

// runDurable measures the durable writes of ps in s.set.rounds interleaved
// rounds and adds each store's status to the report.
func (s *suite) runDurable(ps []*Peer) {
	var stores []durableStore
	for _, p := range ps {
		st := PeerStatus{Name: p.Name, Notes: p.Notes, MultiProcess: p.MultiProcess, WhyNot: p.WhyNot, Problem: p.Unavailable, Baseline: p.Baseline}
		if st.Problem == "" && !p.Durable {
			st.Problem = "not a durable store: its commits are not flushed to the device"
		}
		if st.Problem == "" {
			ds, err := s.prepareDurable(p)
			if err != nil {
				st.Problem = err.Error()
			} else {
				stores = append(stores, ds)
				st.Ran = true
			}
		}
		if st.Problem != "" {
			s.logf("== %s: SKIPPED or stopped: %s", p.Name, st.Problem)
		}
		s.rep.Peers = append(s.rep.Peers, st)
	}
	defer func() {
		for _, ds := range stores {
			os.RemoveAll(ds.dir)
		}
	}()

	type unit struct {
		ds durableStore
		m  durableMode
	}
	var units []unit
	for _, m := range durableModes {
		for _, ds := range stores {
			if why := m.why(ds.p); why != "" {
				// The floor is reported once, with its one writer.
				if !ds.p.Baseline {
					s.rep.Durable = append(s.rep.Durable, DurableRun{Store: ds.p.Name, Workload: m.workload, Writers: m.writers, Round: -1, Skip: why})
				}
				continue
			}
			units = append(units, unit{ds, m})
		}
	}
	s.rep.Rounds = s.set.rounds
	for r := 0; r < s.set.rounds; r++ {
		s.logf("== durable writes, round %d of %d", r+1, s.set.rounds)
		// Each round starts one unit later, so that no store always runs
		// first, or always right after the same other one.
		for i := range units {
			u := units[(i+r)%len(units)]
			dr := s.durableRun(u.ds, u.m, r)
			s.rep.Durable = append(s.rep.Durable, dr)
			line := fmt.Sprintf("  %-22s %-16s %10s/write  p50 %-9s p99 %-9s %6d writes", dr.Store, dr.Workload,
				fmtDur(time.Duration(dr.NsPerWrite)), fmtDur(dr.P50), fmtDur(dr.P99), dr.Writes)
			if dr.Commits >= 0 && dr.Writes > 0 {
				line += fmt.Sprintf("  %.2f commits/write", float64(dr.Commits)/float64(dr.Writes))
			}
			if dr.Err != "" {
				line += " ERROR: " + dr.Err
			}
			s.logf("%s", line)
		}
	}
	s.rep.Results = append(s.rep.Results, durableResults(s.rep.Durable)...)
}

// prepareDurable makes the store's directory and loads it in batches (the
// floor has nothing to load: its Open writes its file).
func (s *suite) prepareDurable(p *Peer) (durableStore, error) {
	s.logf("== %s (durable writes only)", p.Name)
	dir, err := s.newDir(p, "durable")
	if err != nil {
		return durableStore{}, err
	}
	ds := durableStore{p: p, dir: dir, loaded: int64(s.set.keys)}
	if p.Baseline {
		st, err := s.open(p, dir, false, true)
		if err == nil {
			err = st.Close()
		}
		if err != nil {
			os.RemoveAll(dir)
			return durableStore{}, fmt.Errorf("open: %w", err)
		}
		return ds, nil
	}
	ds.loaded, err = s.loadBatched(p, dir, int64(s.set.keys), "load-batch", s.set.loadBudget)
	if err == nil && ds.loaded == 0 {
		err = errors.New("batched load stored no key")
	}
	if err != nil {
		os.RemoveAll(dir)
		return durableStore{}, err
	}
	return ds, nil
}

// writerResult is what one writer did: its writes, when it started and
// ended (Unix nanoseconds, comparable between processes), the latency of
// each call in nanoseconds and the heap allocations it made.
type writerResult struct {
	Writes  int64   `json:"writes"`
	Start   int64   `json:"start"`
	End     int64   `json:"end"`
	Lat     []int64 `json:"lat"`
	Mallocs uint64  `json:"mallocs"`
	Err     string  `json:"error,omitempty"`
}

// durableWriter makes durable Puts of random loaded keys through st, timing
// each call, until it has made max of them (0: no bound) or dur has passed.
// Writer w has its own fixed sequence of keys.
func durableWriter(st Store, vals *values, w int, loaded, max int64, dur time.Duration) writerResult {
	rng := newRand(seedDurable<<8 | uint64(w))
	var kb [keySize]byte
	lat := make([]int64, 0, 4096)
	start := time.Now()
	deadline := start.Add(dur)
	wr := writerResult{Start: start.UnixNano()}
	t0 := start
	for max == 0 || wr.Writes < max {
		k := rng.Uint64N(uint64(loaded))
		// Three versions in turn, so that no Put stores the value already there.
		if err := st.Put(keyFor(kb[:], k), vals.at(k, 1+uint64(wr.Writes%3))); err != nil {
			wr.Err = err.Error()
			break
		}
		t1 := time.Now()
		lat = append(lat, int64(t1.Sub(t0)))
		wr.Writes++
		t0 = t1
		if t1.After(deadline) {
			break
		}
	}
	// The end by the monotonic clock, as a wall-clock time comparable with
	// the other processes' starts.
	wr.End = start.UnixNano() + int64(t0.Sub(start))
	wr.Lat = lat
	return wr
}

// durableRun measures one mode on one store in round r.
func (s *suite) durableRun(ds durableStore, m durableMode, r int) DurableRun {
	dr := DurableRun{Store: ds.p.Name, Workload: m.workload, Writers: m.writers, Round: r, Commits: -1}
	var results []writerResult
	var err error
	if m.processes {
		results, dr.Commits, err = s.writerProcesses(ds, m.writers)
	} else {
		results, dr.Commits, err = s.writerGoroutines(ds, m.writers)
	}
	if err != nil {
		dr.Err = err.Error()
	}
	var lat []time.Duration
	var first, last int64
	var mallocs uint64
	for i, wr := range results {
		dr.Writes += wr.Writes
		mallocs += wr.Mallocs
		for _, ns := range wr.Lat {
			lat = append(lat, time.Duration(ns))
		}
		if i == 0 || wr.Start < first {
			first = wr.Start
		}
		last = max(last, wr.End)
		if wr.Err != "" && dr.Err == "" {
			dr.Err = fmt.Sprintf("writer %d: %s", i, wr.Err)
		}
	}
	if dr.Writes > 0 {
		dr.Wall = time.Duration(last - first)
		dr.NsPerWrite = float64(dr.Wall) / float64(dr.Writes)
		dr.AllocsPerOp = float64(mallocs) / float64(dr.Writes)
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		dr.P50, dr.P99, dr.P999, dr.Max = percentile(lat, 0.50), percentile(lat, 0.99), percentile(lat, 0.999), lat[len(lat)-1]
	}
	return dr
}

// commitsOf returns the store's commit count, or -1 if it keeps none.
func commitsOf(st Store) int64 {
	if cc, ok := st.(commitCounter); ok {
		if n, err := cc.Commits(); err == nil {
			return n
		}
	}
	return -1
}

// writerGoroutines runs n writers as goroutines on one handle of the store,
// started together, and returns what each did and the commits made.
func (s *suite) writerGoroutines(ds durableStore, n int) ([]writerResult, int64, error) {
	st, err := s.open(ds.p, ds.dir, false, false)
	if err != nil {
		return nil, -1, fmt.Errorf("open: %w", err)
	}
	before := commitsOf(st)
	results := make([]writerResult, n)
	var ready, done sync.WaitGroup
	startGate := make(chan struct{})
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for w := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-startGate
			results[w] = durableWriter(st, s.vals, w, ds.loaded, s.set.durableWrites, s.set.budget)
		}()
	}
	ready.Wait()
	close(startGate)
	done.Wait()
	runtime.ReadMemStats(&m1)
	// The process's allocations, all on the first writer: only the sum is
	// reported.
	results[0].Mallocs = m1.Mallocs - m0.Mallocs
	commits := int64(-1)
	if after := commitsOf(st); before >= 0 && after >= 0 {
		commits = after - before
	}
	if err := st.Close(); err != nil {
		return results, commits, fmt.Errorf("close: %w", err)
	}
	return results, commits, nil
}

// durableResults turns the rounds into one Result per store and workload
// for the main table and the chart: the median cost per write over the
// rounds, and every write counted.
func durableResults(runs []DurableRun) []Result {
	type key struct{ store, workload string }
	var order []key
	byKey := map[key][]DurableRun{}
	for _, dr := range runs {
		if dr.Skip != "" {
			continue
		}
		k := key{dr.Store, dr.Workload}
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], dr)
	}
	var out []Result
	for _, k := range order {
		r := Result{Store: k.store, Workload: k.workload}
		var ns, allocs []float64
		for _, dr := range byKey[k] {
			r.Ops += dr.Writes
			if dr.Writes > 0 {
				ns = append(ns, dr.NsPerWrite)
				allocs = append(allocs, dr.AllocsPerOp)
			}
			r.Err = cmp.Or(r.Err, dr.Err)
		}
		// Time-bound by design: never marked as cut short.
		r.Wanted = r.Ops
		if len(ns) > 0 {
			r.NsPerOp = median(ns)
			r.OpsPerSec = 1e9 / r.NsPerOp
			r.AllocsPerOp = median(allocs)
		} else {
			r.Ops = 0
		}
		out = append(out, r)
	}
	return out
}
