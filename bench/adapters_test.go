package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestRoundTrip stores 100 keys with Put and 100 with Batch in every
// store, reads them back, reopens the store read-only and reads them
// again. A store that cannot run here is skipped with the reason.
func TestRoundTrip(t *testing.T) {
	for _, p := range allPeers() {
		t.Run(p.Name, func(t *testing.T) {
			if p.Unavailable != "" {
				t.Skip(p.Unavailable)
			}
			if p.Baseline {
				t.Skip("a baseline, not a key-value store (TestDurable runs it)")
			}
			cfg := Config{Dir: t.TempDir(), Fresh: true}
			if p.InMemory {
				srv, err := startRedis()
				if err != nil {
					t.Skip(err)
				}
				t.Cleanup(srv.Stop)
				cfg.Socket = srv.Socket
			}
			vals := newValues(seedValues)
			var kb [keySize]byte
			st, err := p.Open(cfg)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			for i := uint64(0); i < 100; i++ {
				if err := st.Put(keyFor(kb[:], i), vals.at(i, 0)); err != nil {
					t.Fatalf("put %d: %v", i, err)
				}
			}
			var keys, values [][]byte
			for i := uint64(100); i < 200; i++ {
				keys = append(keys, keyFor(make([]byte, keySize), i))
				values = append(values, vals.at(i, 0))
			}
			if err := st.Batch(keys, values); err != nil {
				t.Fatalf("batch: %v", err)
			}
			check := func(st Store) {
				t.Helper()
				buf := []byte("prefix")
				for i := uint64(0); i < 200; i++ {
					v, found, err := st.Get(buf, keyFor(kb[:], i))
					if err != nil || !found {
						t.Fatalf("get %d: found=%v err=%v", i, found, err)
					}
					if !bytes.HasPrefix(v, []byte("prefix")) || !bytes.Equal(v[6:], vals.at(i, 0)) {
						t.Fatalf("get %d: wrong value", i)
					}
				}
				if _, found, err := st.Get(nil, keyFor(kb[:], missBase+1)); err != nil || found {
					t.Fatalf("get of an absent key: found=%v err=%v", found, err)
				}
			}
			check(st)
			if err := st.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			cfg.ReadOnly, cfg.Fresh = true, false
			ro, err := p.Open(cfg)
			if err != nil {
				t.Fatalf("reopen read-only: %v", err)
			}
			check(ro)
			if err := ro.Close(); err != nil {
				t.Fatalf("close read-only: %v", err)
			}
		})
	}
}

func TestKeysDistinct(t *testing.T) {
	seen := map[string]bool{}
	var kb [keySize]byte
	for i := uint64(0); i < 10000; i++ {
		for _, k := range []uint64{i, missBase + i} {
			s := string(keyFor(kb[:], k))
			if seen[s] {
				t.Fatalf("key %d repeats", k)
			}
			seen[s] = true
		}
	}
}

// TestReport renders a small made-up report: every table and both charts.
func TestReport(t *testing.T) {
	rep := &Report{Mode: "test", Keys: 1000, Budget: time.Second,
		Peers: []PeerStatus{{Name: "mapkv", Ran: true, MultiProcess: true}, {Name: "b", Ran: true, WhyNot: "one process"}, {Name: "c", Problem: "not installed"}}}
	for _, st := range []string{"mapkv", "b"} {
		for i, w := range []string{"load-1", "get-hit", "overwrite"} {
			rep.Results = append(rep.Results, Result{Store: st, Workload: w, Ops: 1000, Wanted: 1000, NsPerOp: float64(100 * (i + 1))})
		}
		rep.Latencies = append(rep.Latencies, Latency{Store: st, Op: "get", Samples: 10, P50: time.Microsecond})
		rep.Sizes = append(rep.Sizes, SizeInfo{Store: st, Keys: 1000, Apparent: 1 << 20})
		rep.Readers = append(rep.Readers, ReaderRun{Store: st, Reader: Result{Ops: 10, NsPerOp: 300}})
		rep.Snapshots = append(rep.Snapshots, SnapResult{Store: st, Method: copyMethod, Bytes: 1 << 20, Elapsed: time.Millisecond})
		for _, n := range []int{10_000, 100_000} {
			rep.Scaling = append(rep.Scaling, ScalePoint{Store: st, Op: "get", Keys: n, NsPerOp: 200, Ops: 10})
		}
	}
	md := markdown(rep)
	for _, want := range []string{"| get-hit | 200 (1.00×) | 200 (1.00×) |", "not installed", "one process", "10k keys"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	for _, svg := range []string{workloadChart(rep), scalingChart(rep)} {
		if !strings.HasPrefix(svg, "<svg") || !strings.HasSuffix(svg, "</svg>\n") || !strings.Contains(svg, "mapkv") {
			t.Errorf("bad svg: %.200s", svg)
		}
	}
}

// TestReportDurable renders a -durable run: the durable rows' ratios are to
// mapkv-sync, the sections a durable run does not fill are left out, and the
// targets are the medians of the per-round ratios.
func TestReportDurable(t *testing.T) {
	rep := &Report{Mode: "test-durable", Keys: 1000, Budget: time.Second, Rounds: 2,
		Peers: []PeerStatus{{Name: floorName, Ran: true, Baseline: true}, {Name: "mapkv-sync", Ran: true, MultiProcess: true},
			{Name: "bbolt", Ran: true, WhyNot: "one process"}, {Name: "lmdb-sync", Ran: true, MultiProcess: true}}}
	run := func(store, workload string, round int, us float64, commits int64) DurableRun {
		return DurableRun{Store: store, Workload: workload, Round: round, Writes: 100, NsPerWrite: us * 1000,
			P50: time.Duration(us/2) * time.Microsecond, P99: time.Duration(us*3) * time.Microsecond, Commits: commits}
	}
	rep.Durable = []DurableRun{
		// Round 0 is fast and round 1 slow, so the medians of the stores'
		// figures would give other ratios than the rounds' own ratios.
		run(floorName, "durable-put", 0, 100, 100), run(floorName, "durable-put", 1, 200, 100),
		run("mapkv-sync", "durable-put", 0, 110, 100), run("mapkv-sync", "durable-put", 1, 260, 100), // 1.1, 1.3
		run("lmdb-sync", "durable-put", 0, 400, 100), run("lmdb-sync", "durable-put", 1, 400, 100), // 0.275, 0.65
		run("mapkv-sync", "durable-put-4g", 0, 60, 25), run("mapkv-sync", "durable-put-4g", 1, 60, 25), // 0.6, 0.3
		run("mapkv-sync", "durable-put-4p", 0, 500, 100),
		{Store: "mapkv-sync", Workload: "durable-put-4p", Round: 1, Err: "writer 2: boom"},
		{Store: "bbolt", Workload: "durable-put-4p", Round: -1, Skip: "a second process cannot open the store (see Stores)"},
	}
	rep.Results = durableResults(rep.Durable)
	md := markdown(rep)
	for _, want := range []string{
		"| durable-put | 150000 (0.81×) | 185000 (1.00×) | – | 400000 (2.16×) |",
		"| floor-pwrite-fdatasync (baseline) | mapkv-sync |",
		"| mapkv-sync | 1 | 185 µs | 110 µs–260 µs | 1.20 | 92 µs | 555 µs |",
		"| mapkv-sync | 4 goroutines, one handle | 60 µs | 60 µs–60 µs | 0.45 |",
		"| mapkv-sync | 4 processes, a handle each | 500 µs ⚠ | – | 5.00 |",
		"| 0.25 | 200 |", // commits/write and writes of the 4g row (two rounds)
		"| bbolt | 4 processes, a handle each | not run: a second process cannot open the store (see Stores) |",
		"| mapkv-sync 1 writer / floor | 1.20 | 1.10–1.30 | ≤ 1.2 | yes |",
		"| mapkv-sync 1 writer / lmdb-sync 1 writer | 0.46 | 0.28–0.65 | ≤ 0.5 | yes |",
		"| mapkv-sync 4 goroutines, one handle, per write / floor | 0.45 | 0.30–0.60 | ≤ 0.5 | yes |",
		"| mapkv-sync 4 processes, per write / floor | 5.00 | – | ≤ 0.5 | **no** |",
		"mapkv-sync durable-put-4p round 2: writer 2: boom (after 0 writes)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	for _, absent := range []string{"## Size", "## Reader process", "## Cost vs key count", "## Latency", "get-hit", "floor-pwrite-fdatasync (baseline, not a key-value store) | 4"} {
		if strings.Contains(md, absent) {
			t.Errorf("markdown has %q:\n%s", absent, md)
		}
	}
	for _, svg := range []string{workloadChart(rep), scalingChart(rep)} {
		if !strings.HasPrefix(svg, "<svg") {
			t.Errorf("bad svg: %.200s", svg)
		}
	}
	if svg := workloadChart(rep); !strings.Contains(svg, "durable-put-4g") || !strings.Contains(svg, floorName) {
		t.Errorf("the chart lacks the durable rows or the floor: %.300s", svg)
	}
}
