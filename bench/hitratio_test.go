package main

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// testHitSettings is a short replay: small enough for CI, large enough that
// the policies differ (mapkv's smallest file holds about 500 entries).
func testHitSettings() hitSettings {
	c := entriesPerPage * 16
	return hitSettings{mode: "test", traces: traceSet{capacity: c, requests: 40 * c, warm: 10 * c}, samples: 8}
}

// TestHitRatioSane replays two short traces through every cache of the
// comparison in both capacity modes and checks what must hold whatever the
// policy: ratios in range, capacity respected, LRU blind on a loop larger
// than itself, every cache good on a skewed trace, and the recommended
// simulated policy ahead of LRU on both.
func TestHitRatioSane(t *testing.T) {
	set := testHitSettings()
	ts := set.traces
	peers := hitPeers(set)
	bytesCap := int64(float64(ts.capacity) * meanVaried(1<<16))
	for _, name := range []string{"zipf-0.99", "loop-1.1x"} {
		tr := ts.build(name)
		for _, bytesMode := range []bool{false, true} {
			capacity := int64(ts.capacity)
			if bytesMode {
				capacity = bytesCap
			}
			got := map[string]hitResult{}
			for _, p := range peers {
				r := runOne(p, tr, capacity, bytesMode, set.samples)
				if r.Err != "" {
					t.Errorf("%s on %s (%s): %s", p.name, name, modeName(bytesMode), r.Err)
					continue
				}
				if want := int64(ts.requests - ts.warm); r.Requests != want {
					t.Errorf("%s on %s: %d requests counted, want %d", p.name, name, r.Requests, want)
				}
				if r.Ratio < 0 || r.Ratio > 1 {
					t.Errorf("%s on %s: ratio %v", p.name, name, r.Ratio)
				}
				// The caches of fixed capacity never hold more than it;
				// mapkv, calibrated, within a few percent of it.
				share := r.Held / float64(capacity)
				// Simulated files in bytes mode have the pages that hold
				// the capacity under distinct keys, so they too are
				// within a few percent of it.
				fileLike := p.name == "mapkv" || bytesMode && slices.ContainsFunc(simCandidates, func(c simConfig) bool { return c.name == p.name })
				switch {
				case fileLike && (share < 0.9 || share > 1.1):
					t.Errorf("%s on %s (%s): held %.3f of the capacity", p.name, name, modeName(bytesMode), share)
				case !fileLike && p.name != "ristretto" && share > 1.0001:
					t.Errorf("%s on %s (%s): held %.3f of the capacity", p.name, name, modeName(bytesMode), share)
				}
				got[p.name] = r
			}
			lru := got["lru"].Ratio
			switch name {
			case "loop-1.1x":
				if lru > 0.01 {
					t.Errorf("LRU on a loop 1.1x its size hit %.4f, want ~0", lru)
				}
				if r := got["s3f-lite"].Ratio; r < 0.4 {
					t.Errorf("s3f-lite on %s (%s): %.4f, want > 0.4", name, modeName(bytesMode), r)
				}
			case "zipf-0.99":
				if lru < 0.4 {
					t.Errorf("LRU on Zipf 0.99 hit %.4f, want > 0.4", lru)
				}
				for n, r := range got {
					if r.Ratio < 0.9*lru {
						t.Errorf("%s on Zipf 0.99 (%s): %.4f, under 0.9x LRU's %.4f", n, modeName(bytesMode), r.Ratio, lru)
					}
				}
				if r := got["s3f-lite"].Ratio; r <= lru {
					t.Errorf("s3f-lite on Zipf 0.99 (%s): %.4f, not above LRU's %.4f", modeName(bytesMode), r, lru)
				}
			}
		}
	}
}

// TestHitReport renders a report of two results and checks its tables and
// chart name every cache and flag a failure.
func TestHitReport(t *testing.T) {
	rep := &hitReport{Mode: "test", Capacity: 10, Bytes: 1000,
		Caches: []hitColumn{{"lru", ""}, {"otter", ""}, {"ristretto", ""}, {"mapkv", ""}},
		Traces: []hitTrace{{"zipf-0.99", "z"}}}
	for _, c := range rep.Caches {
		rep.Results = append(rep.Results, hitResult{Trace: "zipf-0.99", Cache: c.Name, Capacity: 10, Ratio: 0.5, Held: 10})
	}
	rep.Results[3].Err = "Put, request 7: kv: database is full"
	md := hitMarkdown(rep)
	for _, want := range []string{"| zipf-0.99 | 0.5000 | 0.5000 | 0.5000 | fails |", "mapkv on zipf-0.99: Put, request 7"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	svg := hitChart(rep)
	if !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, "mapkv") || !strings.HasSuffix(svg, "</svg>\n") {
		t.Errorf("chart is not an SVG naming the caches:\n%s", svg)
	}
}

// TestLRU checks the LRU against a hand-worked sequence.
func TestLRU(t *testing.T) {
	c := newLRU(3)
	for _, k := range []uint64{1, 2, 3} {
		c.put(k, 1)
	}
	c.get(1)    // order: 1 3 2
	c.put(4, 1) // evicts 2
	for k, want := range map[uint64]bool{1: true, 2: false, 3: true, 4: true} {
		if got, _ := c.get(k); got != want {
			t.Errorf("key %d cached %v, want %v", k, got, want)
		}
	}
	c.put(5, 2) // weight 2: evicts the two least recent of 1, 3, 4
	if n, w := c.held(); n != 2 || w != 3 {
		t.Errorf("held %d entries of weight %d, want 2 and 3", n, w)
	}
}

// TestSimArena allocates and frees records of random sizes and checks the
// arena's accounting and that the hand visits every live record once a lap.
func TestSimArena(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	a := newSimArena(256)
	type rec struct {
		page int32
		obj  int16
		size int
	}
	live := map[int32]rec{}
	var next int32
	var want int64
	for step := 0; step < 20000; step++ {
		if r.IntN(3) > 0 || len(live) == 0 {
			size := simRecordSize(16 + int(float64(16)*float64(r.IntN(1000))))
			if r.IntN(20) == 0 {
				size = simRecordSize(3000 + r.IntN(10000))
			}
			if !a.canAlloc(size) {
				continue
			}
			p, o := a.alloc(size, next)
			live[next] = rec{p, o, size}
			want += int64(simAllocSize(size))
			next++
		} else {
			for e, rc := range live {
				a.release(rc.page, rc.obj)
				want -= int64(simAllocSize(rc.size))
				delete(live, e)
				break
			}
		}
		if a.liveBytes != want {
			t.Fatalf("step %d: arena counts %d live bytes, want %d", step, a.liveBytes, want)
		}
	}
	var h simHand
	seen := map[int32]int{}
	first := h.next(a)
	for e := first; ; {
		seen[e]++
		if e = h.next(a); e == first {
			break
		}
	}
	for e := range live {
		if seen[e] != 1 {
			t.Errorf("entry %d visited %d times in a lap", e, seen[e])
		}
	}
	if len(seen) != len(live) {
		t.Errorf("hand visited %d records, %d live", len(seen), len(live))
	}
}

// TestSimGhost checks the ghost remembers about its capacity's worth of
// recent evictions and forgets older ones.
func TestSimGhost(t *testing.T) {
	const n = 4096
	g := newSimGhost(n)
	for k := uint64(0); k < 4*n; k++ {
		g.insert(k)
	}
	recent, old := 0, 0
	for k := uint64(3 * n); k < 4*n; k++ {
		if g.contains(k) {
			recent++
		}
	}
	for k := uint64(0); k < 2*n; k++ {
		if g.contains(k) {
			old++
		}
	}
	if recent < n*9/10 {
		t.Errorf("ghost remembers %d of the last %d evictions", recent, n)
	}
	if old > n/100 {
		t.Errorf("ghost still holds %d of %d evictions older than twice its size", old, 2*n)
	}
}

// TestTraces checks the traces are deterministic and shaped as described.
func TestTraces(t *testing.T) {
	ts := traceSet{capacity: 100, requests: 20000, warm: 1000}
	for _, name := range traceNames {
		a, b := ts.build(name), ts.build(name)
		if !slices.Equal(a.keys, b.keys) {
			t.Errorf("%s: two builds differ", name)
		}
	}
	loop := ts.build("loop-1.1x")
	if loop.keys[110] != 0 || loop.keys[109] != 109 {
		t.Errorf("loop does not repeat every 110 keys")
	}
	scan := ts.build("zipf+scan")
	n := 0
	for _, k := range scan.keys {
		if k >= scanBase && k < shiftBase {
			n++
		}
	}
	if want := 20000 / 2000 * 500; n < want*9/10 || n > want {
		t.Errorf("zipf+scan: %d scan requests, want about %d", n, want)
	}
}
