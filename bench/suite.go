package main

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// settings are the sizes and time bounds of one run.
type settings struct {
	mode           string
	keys           int           // keys loaded for the main workloads
	budget         time.Duration // time bound of one workload
	loadBudget     time.Duration // time bound of the batched load that the reads depend on
	latencySamples int           // individually timed operations per latency pass
	readerDur      time.Duration // how long a reader process reads
	sizes          []int         // key counts of the cost-vs-size runs
	scaleOps       int           // operations per point of the cost-vs-size runs
	snapReps       int           // repetitions of each copy, best kept
	batch          int           // keys per transaction in the batched load
	durable        bool          // -durable: only the durable writes, on the durable stores
	rounds         int           // rounds of the durable writes
	durableWrites  int64         // most writes of one writer in one durable measurement (0: the budget decides)
}

func quickSettings() settings {
	return settings{
		mode: "quick", keys: 100_000, budget: 3 * time.Second, loadBudget: 30 * time.Second,
		latencySamples: 20_000, readerDur: 2 * time.Second, sizes: []int{10_000, 100_000},
		scaleOps: 20_000, snapReps: 3, batch: 1000, rounds: 3,
	}
}

func fullSettings() settings {
	return settings{
		mode: "full", keys: 1_000_000, budget: 12 * time.Second, loadBudget: 120 * time.Second,
		latencySamples: 100_000, readerDur: 5 * time.Second, sizes: []int{10_000, 100_000, 1_000_000},
		scaleOps: 100_000, snapReps: 3, batch: 1000, rounds: 3,
	}
}

// suite runs every workload on every store and collects a Report.
type suite struct {
	set    settings
	rep    *Report
	tmp    string // parent of every store's directory
	socket string // Redis
	server *redisServer
	vals   *values
}

// Seeds of the workloads: fixed, so every store sees the same keys in the
// same order.
const (
	seedGetHit = iota + 1
	seedGetMiss
	seedOverwrite
	seedMix
	seedLatGet
	seedLatPut
	seedReader
	seedWriter
	seedScaleGet
	seedScalePut
	seedGetCopy
	seedDurable
	seedValues = 42
)

func (s *suite) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

func (s *suite) add(r Result) Result {
	s.rep.Results = append(s.rep.Results, r)
	line := fmt.Sprintf("  %-14s %-16s %10.0f ns/op %12.0f ops/s %6.2f allocs/op  (%d ops)",
		r.Store, r.Workload, r.NsPerOp, r.OpsPerSec, r.AllocsPerOp, r.Ops)
	if r.Capped() && r.Err == "" {
		line += " [time budget]"
	}
	if r.Err != "" {
		line += " ERROR: " + r.Err
	}
	s.logf("%s", line)
	return r
}

// open opens a store of peer p in dir.
func (s *suite) open(p *Peer, dir string, readOnly, fresh bool) (Store, error) {
	return p.Open(Config{Dir: dir, ReadOnly: readOnly, Fresh: fresh, Socket: s.socket})
}

// newDir makes a fresh directory for one use of one store.
func (s *suite) newDir(p *Peer, what string) (string, error) {
	return os.MkdirTemp(s.tmp, p.Name+"-"+what+"-")
}

// runPeer runs every workload on one store. It returns a problem that
// stopped the store early, or nil.
func (s *suite) runPeer(p *Peer) error {
	n := int64(s.set.keys)
	budget := s.set.budget
	name := p.Name
	s.logf("== %s", name)

	// Load, one key per call, into a store of its own that is then thrown
	// away: a store that syncs every commit may not get far in the budget.
	dir, err := s.newDir(p, "load1")
	if err != nil {
		return err
	}
	st, err := s.open(p, dir, false, true)
	if err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("open: %w", err)
	}
	var kb [keySize]byte
	s.add(measure(name, "load-1", n, budget, func(i int64) error {
		return st.Put(keyFor(kb[:], uint64(i)), s.vals.at(uint64(i), 0))
	}))
	st.Close()
	os.RemoveAll(dir)

	// Load in batches: this is the store the other workloads use.
	dir, err = s.newDir(p, "main")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	loaded, err := s.loadBatched(p, dir, n, "load-batch", s.set.loadBudget)
	if err != nil {
		return err
	}
	if loaded == 0 {
		return errors.New("batched load stored no key")
	}
	if loaded < n {
		s.logf("  %s: only %d of %d keys loaded within the budget; reads use those", name, loaded, n)
	}
	s.rep.Sizes = append(s.rep.Sizes, s.sizeOf(p, dir, int(loaded)))

	st, err = s.open(p, dir, false, false)
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	defer func() {
		if st != nil {
			st.Close()
		}
	}()
	s.mainWorkloads(p, st, loaded)
	s.snapshots(p, st, dir)
	st.Close()
	st = nil

	// A reader process on its own: its speed and its peak memory.
	rr := s.readerProcess(p, dir, loaded, nil)
	s.rep.Readers = append(s.rep.Readers, rr)

	// A reader process beside a writer in this process.
	if p.MultiProcess {
		w, err := s.open(p, dir, false, false)
		if err != nil {
			s.rep.Readers = append(s.rep.Readers, ReaderRun{Store: name, Concurrent: true, Err: err.Error()})
		} else {
			rr := s.readerProcess(p, dir, loaded, w)
			w.Close()
			s.rep.Readers = append(s.rep.Readers, rr)
		}
	}
	os.RemoveAll(dir)

	s.scaling(p, loaded)
	return nil
}

// loadBatched loads keys 0..n-1 into a fresh store in dir, s.set.batch per
// transaction, and returns how many it stored within the budget.
func (s *suite) loadBatched(p *Peer, dir string, n int64, workload string, budget time.Duration) (int64, error) {
	st, err := s.open(p, dir, false, true)
	if err != nil {
		return 0, fmt.Errorf("open: %w", err)
	}
	b := int64(s.set.batch)
	keys := make([][]byte, b)
	vals := make([][]byte, b)
	kbuf := make([]byte, b*keySize)
	for j := range keys {
		keys[j] = kbuf[int64(j)*keySize : int64(j+1)*keySize]
	}
	batches := (n + b - 1) / b
	r := measure(p.Name, workload, batches, budget, func(i int64) error {
		lo, hi := i*b, min((i+1)*b, n)
		for k := lo; k < hi; k++ {
			keyFor(keys[k-lo], uint64(k))
			vals[k-lo] = s.vals.at(uint64(k), 0)
		}
		return st.Batch(keys[:hi-lo], vals[:hi-lo])
	})
	loaded := min(r.Ops*b, n)
	// Report per key, not per batch.
	if loaded > 0 {
		r.NsPerOp = r.NsPerOp * float64(r.Ops) / float64(loaded)
		r.AllocsPerOp = r.AllocsPerOp * float64(r.Ops) / float64(loaded)
		r.BytesPerOp = r.BytesPerOp * float64(r.Ops) / float64(loaded)
		r.OpsPerSec = r.OpsPerSec * float64(loaded) / float64(r.Ops)
	}
	r.Ops, r.Wanted = loaded, n
	if workload != "" {
		s.add(r)
	}
	if err := st.Close(); err != nil {
		return loaded, fmt.Errorf("close after load: %w", err)
	}
	if r.Err != "" && loaded == 0 {
		return 0, errors.New(r.Err)
	}
	return loaded, nil
}

// sizeOf measures the loaded store's footprint: its files, or for Redis
// the server's memory.
func (s *suite) sizeOf(p *Peer, dir string, keys int) SizeInfo {
	si := SizeInfo{Store: p.Name, Keys: keys}
	if p.InMemory {
		si.Memory = true
		st, err := s.open(p, dir, true, false)
		if err != nil {
			return si
		}
		defer st.Close()
		if m, ok := st.(interface{ MemoryUsed() (int64, error) }); ok {
			if used, err := m.MemoryUsed(); err == nil {
				si.Apparent, si.Allocated = used, used
			}
		}
		return si
	}
	si.Apparent, si.Allocated, _ = dirSize(dir)
	return si
}

var errWrongValue = errors.New("Get returned a wrong value")

// mainWorkloads runs the single-process workloads on a loaded store.
func (s *suite) mainWorkloads(p *Peer, st Store, loaded int64) {
	n := int64(s.set.keys)
	budget := s.set.budget
	name := p.Name
	var kb [keySize]byte
	buf := make([]byte, 0, 256)
	ul := uint64(loaded)

	s.warm(st, loaded)
	rng := newRand(seedGetHit)
	s.add(measure(name, "get-hit", n, budget, func(i int64) error {
		k := rng.Uint64N(ul)
		v, found, err := st.Get(buf[:0], keyFor(kb[:], k))
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("key %d not found", k)
		}
		if len(v) != valueSize || (i%64 == 0 && !bytes.Equal(v, s.vals.at(k, 0))) {
			return errWrongValue
		}
		return nil
	}))

	if cg, ok := st.(interface {
		GetCopy(key []byte) ([]byte, error)
	}); ok {
		rng = newRand(seedGetCopy)
		s.add(measure(name, "get-hit-copy", n, budget, func(i int64) error {
			v, err := cg.GetCopy(keyFor(kb[:], rng.Uint64N(ul)))
			if err == nil && len(v) != valueSize {
				err = errWrongValue
			}
			return err
		}))
	}

	rng = newRand(seedGetMiss)
	s.add(measure(name, "get-miss", n, budget, func(i int64) error {
		_, found, err := st.Get(buf[:0], keyFor(kb[:], missBase+rng.Uint64N(ul)))
		if err == nil && found {
			err = errors.New("absent key found")
		}
		return err
	}))

	rng = newRand(seedOverwrite)
	s.add(measure(name, "overwrite", n, budget, func(i int64) error {
		k := rng.Uint64N(ul)
		return st.Put(keyFor(kb[:], k), s.vals.at(k, 1))
	}))

	rng = newRand(seedMix)
	s.add(measure(name, "mix-90/10", n, budget, func(i int64) error {
		k := rng.Uint64N(ul)
		if rng.Uint32N(10) == 0 {
			return st.Put(keyFor(kb[:], k), s.vals.at(k, 2))
		}
		v, found, err := st.Get(buf[:0], keyFor(kb[:], k))
		if err == nil && (!found || len(v) != valueSize) {
			err = errWrongValue
		}
		return err
	}))

	rng = newRand(seedLatGet)
	l, err := sampleLatency(name, "get", s.set.latencySamples, budget, func(i int64) error {
		_, _, err := st.Get(buf[:0], keyFor(kb[:], rng.Uint64N(ul)))
		return err
	})
	s.addLatency(l, err)
	rng = newRand(seedLatPut)
	l, err = sampleLatency(name, "put", s.set.latencySamples, budget, func(i int64) error {
		k := rng.Uint64N(ul)
		return st.Put(keyFor(kb[:], k), s.vals.at(k, 1))
	})
	s.addLatency(l, err)
}

// warm reads every loaded key once, unmeasured, so that Get figures are
// those of a running store and not of one whose pages were never touched
// by this process (which is a cost too, but paid once). Time-bounded.
func (s *suite) warm(st Store, loaded int64) {
	var kb [keySize]byte
	buf := make([]byte, 0, 256)
	measure("", "warm", loaded, s.set.budget, func(i int64) error {
		_, _, err := st.Get(buf[:0], keyFor(kb[:], uint64(i)))
		return err
	})
}

func (s *suite) addLatency(l Latency, err error) {
	if err != nil {
		s.logf("  %s latency %s: %v", l.Store, l.Op, err)
	}
	s.rep.Latencies = append(s.rep.Latencies, l)
	s.logf("  %-14s %-16s p50 %v p99 %v p99.9 %v (%d samples)", l.Store, "latency-"+l.Op, l.P50, l.P99, l.P999, l.Samples)
}

// snapshots times the store's own online copy against copy_file_range of
// the same file, best of a few repetitions each, in the same run.
func (s *suite) snapshots(p *Peer, st Store, dir string) {
	snap, ok := st.(Snapshotter)
	df, ok2 := st.(interface{ DataFile() string })
	if !ok || !ok2 {
		return
	}
	sdir, err := os.MkdirTemp(s.tmp, p.Name+"-snap-")
	if err != nil {
		return
	}
	defer os.RemoveAll(sdir)
	try := func(method string, copy func(dst string) (int64, error)) {
		res := SnapResult{Store: p.Name, Method: method}
		for rep := 0; rep < s.set.snapReps; rep++ {
			dst := filepath.Join(sdir, fmt.Sprintf("copy-%d", rep))
			t0 := time.Now()
			n, err := copy(dst)
			el := time.Since(t0)
			os.Remove(dst)
			if err != nil {
				res.Err = err.Error()
				break
			}
			if res.Elapsed == 0 || el < res.Elapsed {
				res.Elapsed, res.Bytes = el, n
			}
		}
		s.rep.Snapshots = append(s.rep.Snapshots, res)
		s.logf("  %-14s %-28s %8.0f MB/s (%d bytes, best %v)", p.Name, method, res.MBps(), res.Bytes, res.Elapsed)
	}
	statSize := func(dst string) (int64, error) {
		fi, err := os.Stat(dst)
		if err != nil {
			return 0, err
		}
		return fi.Size(), nil
	}
	src := df.DataFile()
	try(copyMethod, func(dst string) (int64, error) { return copyFile(src, dst, false) })
	try(copyMethod+"+fsync", func(dst string) (int64, error) { return copyFile(src, dst, true) })
	label := "Snapshot (no fsync)"
	if p.SnapshotSyncs {
		label = "Snapshot (fsync)"
	}
	try(label, func(dst string) (int64, error) {
		if err := snap.Snapshot(dst); err != nil {
			return 0, err
		}
		return statSize(dst)
	})
	if ex, ok := st.(interface {
		ExtraSnapshots() map[string]func(dst string) error
	}); ok {
		extra := ex.ExtraSnapshots()
		names := slices.Sorted(maps.Keys(extra))
		for _, name := range names {
			fn := extra[name]
			if p.SnapshotSyncs {
				name += " (fsync)"
			}
			try(name, func(dst string) (int64, error) {
				if err := fn(dst); err != nil {
					return 0, err
				}
				return statSize(dst)
			})
		}
	}
}

// scaling measures Get and Put against the number of keys stored.
func (s *suite) scaling(p *Peer, mainLoaded int64) {
	for _, size := range s.set.sizes {
		if size == s.set.keys {
			// The main run measured this point already.
			for _, r := range s.rep.Results {
				if r.Store == p.Name && (r.Workload == "get-hit" || r.Workload == "overwrite") {
					op := map[string]string{"get-hit": "get", "overwrite": "put"}[r.Workload]
					s.rep.Scaling = append(s.rep.Scaling, ScalePoint{Store: p.Name, Op: op, Keys: int(mainLoaded), NsPerOp: r.NsPerOp, Ops: r.Ops, Err: r.Err})
				}
			}
			continue
		}
		s.scalePoint(p, size)
	}
}

func (s *suite) scalePoint(p *Peer, size int) {
	fail := func(err error) {
		s.logf("  %s scale %d: %v", p.Name, size, err)
		s.rep.Scaling = append(s.rep.Scaling, ScalePoint{Store: p.Name, Op: "get", Keys: size, Err: err.Error()})
	}
	dir, err := s.newDir(p, fmt.Sprintf("scale%d", size))
	if err != nil {
		fail(err)
		return
	}
	defer os.RemoveAll(dir)
	loaded, err := s.loadBatched(p, dir, int64(size), "", s.set.loadBudget)
	if err != nil || loaded == 0 {
		fail(fmt.Errorf("load: %v", err))
		return
	}
	st, err := s.open(p, dir, false, false)
	if err != nil {
		fail(err)
		return
	}
	defer st.Close()
	var kb [keySize]byte
	buf := make([]byte, 0, 256)
	ul := uint64(loaded)
	ops := int64(s.set.scaleOps)
	s.warm(st, loaded)
	rng := newRand(seedScaleGet)
	g := measure(p.Name, "get", ops, s.set.budget/2, func(i int64) error {
		_, found, err := st.Get(buf[:0], keyFor(kb[:], rng.Uint64N(ul)))
		if err == nil && !found {
			err = errWrongValue
		}
		return err
	})
	rng = newRand(seedScalePut)
	w := measure(p.Name, "put", ops, s.set.budget/2, func(i int64) error {
		k := rng.Uint64N(ul)
		return st.Put(keyFor(kb[:], k), s.vals.at(k, 1))
	})
	for _, r := range []Result{g, w} {
		s.rep.Scaling = append(s.rep.Scaling, ScalePoint{Store: p.Name, Op: r.Workload, Keys: int(loaded), NsPerOp: r.NsPerOp, Ops: r.Ops, Err: r.Err})
		s.logf("  %-14s %-16s %10.0f ns/op at %d keys", p.Name, "scale-"+r.Workload, r.NsPerOp, loaded)
	}
}
