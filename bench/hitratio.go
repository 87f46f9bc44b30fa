package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The hit-ratio comparison of issue 11 (`go run . -hitratio`): the traces of
// trace.go replayed through an exact LRU, otter, ristretto, mapkv and the
// simulated policies of simpolicy.go at equal capacity, in entries (values of
// one size) and in bytes (values of varied sizes).

// hitSettings sizes a run.
type hitSettings struct {
	mode    string
	traces  traceSet
	samples int // held-capacity samples per replay
	// caches and traceNames restrict the run (nil: all; "sims" stands for
	// every simulated policy and reference); sweep adds the
	// simulated policies' parameter variants.
	caches, traceNames []string
	sweep              bool
}

// entriesPerPage is how many 128-byte records (16-byte key, 100-byte value,
// 12-byte header) a slab page holds: capacities in entries are a multiple of
// it, so that the simulated file holds exactly the capacity.
const entriesPerPage = simSlabSpace / 128

func quickHitSettings() hitSettings {
	c := entriesPerPage * 16 // 496 entries
	return hitSettings{mode: "quick", traces: traceSet{capacity: c, requests: 60 * c, warm: 10 * c}, samples: 32}
}

func fullHitSettings() hitSettings {
	c := entriesPerPage * 645 // 19,995 entries
	return hitSettings{mode: "full", traces: traceSet{capacity: c, requests: 100 * c, warm: 10 * c}, samples: 32}
}

// hitResult is one cell of the table.
type hitResult struct {
	Trace    string  `json:"trace"`
	Bytes    bool    `json:"bytes_mode"`
	Cache    string  `json:"cache"`
	Capacity int64   `json:"capacity"` // entries, or payload bytes
	Requests int64   `json:"requests"` // measured (after the warm-up)
	Hits     int64   `json:"hits"`
	Ratio    float64 `json:"ratio"`
	Held     float64 `json:"held"`         // mean weight held while measured, in the capacity's unit
	HeldN    float64 `json:"held_entries"` // mean entries held
	Err      string  `json:"error,omitempty"`
	Note     string  `json:"note,omitempty"`
	Seconds  float64 `json:"seconds"`
}

// hitReport is everything one run measured.
type hitReport struct {
	Mode     string      `json:"mode"`
	Capacity int         `json:"capacity_entries"`
	Bytes    int64       `json:"capacity_bytes"`
	Requests int         `json:"requests_per_trace"`
	Warm     int         `json:"warm_up"`
	Caches   []hitColumn `json:"caches"`
	Traces   []hitTrace  `json:"traces"`
	Results  []hitResult `json:"results"`
	Started  time.Time   `json:"started"`
	Elapsed  float64     `json:"elapsed_seconds"`
	Machine  Machine     `json:"machine"`
}

type hitColumn struct{ Name, Desc string }
type hitTrace struct{ Name, What string }

// hitPeers are the columns: the real caches, the references, the candidates.
func hitPeers(set hitSettings) []hitPeer {
	entries := set.traces.capacity
	peers := []hitPeer{lruPeer, otterPeer, ristrettoPeer, mapkvHitPeer(entries)}
	peers = append(peers,
		hitPeer{name: "s3fifo-ideal", desc: "S3-FIFO over lists, exact ghost (reference: not what a file can do)",
			open: func(c int64, _ bool) (hitCache, error) { return newS3FIFOIdeal(c, entries), nil }},
		hitPeer{name: "sieve-ideal", desc: "SIEVE over a list (reference: not what a file can do)",
			open: func(c int64, _ bool) (hitCache, error) { return newSieveIdeal(c), nil }},
	)
	cands := simCandidates
	if set.sweep {
		cands = append(slices.Clip(cands), simSweep()...)
	}
	for _, cfg := range cands {
		peers = append(peers, simPeer(cfg, entries))
	}
	if set.caches != nil {
		// The baselines stay: the goal is measured against them.
		peers = slices.DeleteFunc(peers, func(p hitPeer) bool {
			if slices.Contains([]string{"lru", "otter", "ristretto"}, p.name) || slices.Contains(set.caches, p.name) {
				return false
			}
			return p.name == "mapkv" || !slices.Contains(set.caches, "sims")
		})
	}
	return peers
}

// mapkvHitPeer opens mapkv at a MaxSize calibrated once per mode.
func mapkvHitPeer(entries int) hitPeer {
	sizes := map[bool]int64{}
	errs := map[bool]error{}
	return hitPeer{
		name: "mapkv",
		desc: "mapkv as it is: kv.Open(Options{MaxSize, Evict: true}) on tmpfs, AppendGet then Put on a miss; MaxSize calibrated to hold the capacity",
		open: func(c int64, bytesMode bool) (hitCache, error) {
			if _, ok := sizes[bytesMode]; !ok {
				sizes[bytesMode], errs[bytesMode] = calibrateMapkv(c, bytesMode, entries)
				if errs[bytesMode] != nil {
					fmt.Fprintf(os.Stderr, "hitratio: mapkv calibration (bytes mode %v): %v\n", bytesMode, errs[bytesMode])
				}
			}
			return openMapkvCache(sizes[bytesMode], bytesMode)
		},
	}
}

// simPeer opens a simulated file: in entries mode exactly the capacity in
// 128-byte records; in bytes mode as many pages as hold the capacity's
// payload at steady state (calibrated once, like mapkv's MaxSize).
// Every candidate gets the same number of pages: the file size is the same
// for all, and what each holds in it is reported.
func simPeer(cfg simConfig, entries int) hitPeer {
	return hitPeer{name: cfg.name, desc: cfg.desc, open: func(c int64, bytesMode bool) (hitCache, error) {
		if !bytesMode {
			return newFileSim(cfg, entries/entriesPerPage, entries), nil
		}
		return newFileSim(cfg, simPages(c, entries), entries), nil
	}}
}

var simPagesFor = map[int64]int{}

// simPages returns the pages at which a simulated file holds capacity
// payload bytes under a stream of distinct keys, with the clock2 policy
// (calibrated once per capacity).
func simPages(capacity int64, entries int) int {
	if p, ok := simPagesFor[capacity]; ok {
		return p
	}
	cfg := simConfig{name: "calibration", ctrMax: 3}
	pages := int(float64(capacity)*1.2/simPageSize) + 1
	for range 3 {
		s := newFileSim(cfg, pages, entries)
		var sum float64
		n := 0
		for i := 0; i < 4*entries; i++ {
			id := uint64(1<<44 + i)
			p := payload(id, true)
			s.put(id, p, p)
			if i >= 2*entries && i%16 == 0 {
				sum += float64(s.weight)
				n++
			}
		}
		pages = int(float64(pages) * float64(capacity) / (sum / float64(n)))
	}
	simPagesFor[capacity] = pages
	return pages
}

// replay runs tr through c and measures the hit ratio after the warm-up.
func replay(c hitCache, tr *trace, bytesMode bool, samples int) hitResult {
	r := hitResult{Trace: tr.name, Bytes: bytesMode}
	every := max((len(tr.keys)-tr.warm)/samples, 1)
	var held, heldN float64
	n := 0
	for i, k := range tr.keys {
		hit, err := c.get(k)
		if err != nil {
			r.Err = fmt.Sprintf("Get, request %d: %v", i, err)
			break
		}
		if i >= tr.warm {
			r.Requests++
			if hit {
				r.Hits++
			}
		}
		if !hit {
			p := payload(k, bytesMode)
			w := 1
			if bytesMode {
				w = p
			}
			if err := c.put(k, w, p); err != nil {
				r.Err = fmt.Sprintf("Put, request %d: %v", i, err)
				break
			}
		}
		if i >= tr.warm && (i-tr.warm)%every == every-1 {
			e, w := c.held()
			held += float64(w)
			heldN += float64(e)
			n++
		}
	}
	if r.Requests > 0 {
		r.Ratio = float64(r.Hits) / float64(r.Requests)
	}
	if n > 0 {
		r.Held, r.HeldN = held/float64(n), heldN/float64(n)
	}
	return r
}

// runHitRatio runs the comparison and writes the report under out.
func runHitRatio(set hitSettings, out string) int {
	start := time.Now()
	ts := set.traces
	rep := &hitReport{Mode: set.mode, Capacity: ts.capacity, Requests: ts.requests, Warm: ts.warm, Started: start}
	rep.Bytes = int64(float64(ts.capacity) * meanVaried(1<<16))
	peers := hitPeers(set)
	for _, p := range peers {
		rep.Caches = append(rep.Caches, hitColumn{p.name, p.desc})
	}
	for _, name := range traceNames {
		if set.traceNames != nil && !slices.Contains(set.traceNames, name) {
			continue
		}
		tr := ts.build(name)
		rep.Traces = append(rep.Traces, hitTrace{name, tr.what})
		for _, bytesMode := range []bool{false, true} {
			capacity := int64(ts.capacity)
			if bytesMode {
				capacity = rep.Bytes
			}
			for _, p := range peers {
				t0 := time.Now()
				r := runOne(p, tr, capacity, bytesMode, set.samples)
				r.Seconds = time.Since(t0).Seconds()
				rep.Results = append(rep.Results, r)
				fmt.Fprintf(os.Stderr, "hitratio: %-10s %-5s %-12s %.4f (held %.3f of capacity) %.1fs %s\n",
					name, modeName(bytesMode), p.name, r.Ratio, r.Held/float64(capacity), r.Seconds, r.Err)
			}
		}
	}
	rep.Elapsed = time.Since(start).Seconds()
	rep.Machine = machine(shmDir())
	md := hitMarkdown(rep)
	fmt.Print(md)
	dir := filepath.Join(out, "hitratio-"+set.mode)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "hitratio:", err)
		return 1
	}
	js, _ := json.MarshalIndent(rep, "", "  ")
	for name, b := range map[string][]byte{"hitratio.md": []byte(md), "hitratio.json": append(js, '\n'), "hitratio.svg": []byte(hitChart(rep))} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "hitratio:", err)
			return 1
		}
	}
	fmt.Fprintf(os.Stderr, "hitratio: wrote %s/{hitratio.md,hitratio.json,hitratio.svg} in %.0fs\n", dir, rep.Elapsed)
	return 0
}

func runOne(p hitPeer, tr *trace, capacity int64, bytesMode bool, samples int) hitResult {
	c, err := p.open(capacity, bytesMode)
	if err != nil {
		return hitResult{Trace: tr.name, Bytes: bytesMode, Cache: p.name, Capacity: capacity, Err: "open: " + err.Error()}
	}
	r := replay(c, tr, bytesMode, samples)
	r.Cache, r.Capacity = p.name, capacity
	if n, ok := c.(notes); ok {
		r.Note = n.note()
	}
	if err := c.close(); err != nil && r.Err == "" {
		r.Err = "close: " + err.Error()
	}
	return r
}

func modeName(bytesMode bool) string {
	if bytesMode {
		return "bytes"
	}
	return "entries"
}
