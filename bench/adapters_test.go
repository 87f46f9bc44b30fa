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

// TestReportDurable renders a -durable run: durable-put's ratios are to
// mapkv-sync, and the sections a durable run does not fill are left out.
func TestReportDurable(t *testing.T) {
	rep := &Report{Mode: "test-durable", Keys: 1000, Budget: time.Second,
		Peers: []PeerStatus{{Name: "mapkv-sync", Ran: true, MultiProcess: true}, {Name: "lmdb-sync", Ran: true, MultiProcess: true}}}
	for i, st := range []string{"mapkv-sync", "lmdb-sync"} {
		rep.Results = append(rep.Results, Result{Store: st, Workload: "durable-put", Ops: 10, Wanted: 1000, NsPerOp: float64(1000 * (i + 1))})
	}
	md := markdown(rep)
	if want := "| durable-put | 1000* (1.00×) | 2000* (2.00×) |"; !strings.Contains(md, want) {
		t.Errorf("markdown lacks %q:\n%s", want, md)
	}
	for _, absent := range []string{"## Size", "## Reader process", "## Cost vs key count", "get-hit"} {
		if strings.Contains(md, absent) {
			t.Errorf("markdown has %q:\n%s", absent, md)
		}
	}
	for _, svg := range []string{workloadChart(rep), scalingChart(rep)} {
		if !strings.HasPrefix(svg, "<svg") {
			t.Errorf("bad svg: %.200s", svg)
		}
	}
}
