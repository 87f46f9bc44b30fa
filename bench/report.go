package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// workloadOrder is the row order of the main tables; the reader rows come
// from the reader processes.
var workloadOrder = []string{
	"load-1", "load-batch", "get-hit", "get-hit-copy", "get-miss", "overwrite", "mix-90/10",
	"reader-alone", "2proc-reader", "2proc-writer", "durable-put", "durable-put-4g", "durable-put-4p",
}

// baseStore is the store the ratios of a workload's row are relative to:
// mapkv, or for the durable writes mapkv with Sync.
func baseStore(workload string) string {
	if strings.HasPrefix(workload, "durable-put") {
		return "mapkv-sync"
	}
	return "mapkv"
}

var workloadDoc = map[string]string{
	"load-1":         "Put of new keys, one per call, fresh store",
	"load-batch":     "new keys, 1000 per transaction (per key)",
	"get-hit":        "Get of a random stored key into a reused buffer",
	"get-hit-copy":   "Get returning a new slice (mapkv's Get)",
	"get-miss":       "Get of a random absent key",
	"overwrite":      "Put of a random existing key, new value",
	"mix-90/10":      "90% Get, 10% overwrite, random keys",
	"reader-alone":   "Get in a second process, no writer",
	"2proc-reader":   "Get in a second process while this one writes",
	"2proc-writer":   "overwrite in this process while the other reads",
	"durable-put":    "Put of a random existing key that is on the device when it returns, one writer (ratio to mapkv-sync; stores that flush every commit only; median of the rounds)",
	"durable-put-4g": "the same by 4 goroutines on one handle at once, per write (wall time / writes of all four)",
	"durable-put-4p": "the same by 4 processes, a handle each, per write",
}

// ranStores returns the stores that have results, in table order.
func ranStores(rep *Report) []string {
	var names []string
	for _, p := range rep.Peers {
		if p.Ran {
			names = append(names, p.Name)
		}
	}
	return names
}

// lookup finds the result of one workload on one store.
func lookup(rep *Report, store, workload string) (Result, bool) {
	for _, r := range rep.Results {
		if r.Store == store && r.Workload == workload {
			return r, true
		}
	}
	for _, rr := range rep.Readers {
		if rr.Store != store {
			continue
		}
		switch {
		case workload == "reader-alone" && !rr.Concurrent:
			return readerResult(rr, rr.Reader), true
		case workload == "2proc-reader" && rr.Concurrent:
			return readerResult(rr, rr.Reader), true
		case workload == "2proc-writer" && rr.Concurrent:
			return readerResult(rr, rr.Writer), true
		}
	}
	return Result{}, false
}

func readerResult(rr ReaderRun, r Result) Result {
	if r.Err == "" {
		r.Err = rr.Err
	}
	return r
}

func fmtNs(ns float64) string {
	switch {
	case ns >= 100:
		return fmt.Sprintf("%.0f", ns)
	default:
		return fmt.Sprintf("%.1f", ns)
	}
}

func fmtRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1fk", r/1e3)
	default:
		return fmt.Sprintf("%.0f", r)
	}
}

func fmtBytes(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	default:
		return fmt.Sprintf("%d B", b)
	}
}

func fmtDur(d time.Duration) string {
	us := float64(d) / 1e3
	switch {
	case us >= 1000:
		return fmt.Sprintf("%.2f ms", us/1000)
	case us >= 10:
		return fmt.Sprintf("%.0f µs", us)
	default:
		return fmt.Sprintf("%.2f µs", us)
	}
}

// table writes a markdown table. align has one letter per column, 'l' or
// 'r'; columns past its end are right-aligned, the first is left-aligned
// when align is empty.
func table(b *strings.Builder, align string, header []string, rows [][]string) {
	if align == "" {
		align = "l"
	}
	cell := func(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
	line := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + cell(c) + " |")
		}
		b.WriteString("\n")
	}
	line(header)
	b.WriteString("|")
	for i := range header {
		if i < len(align) && align[i] == 'l' {
			b.WriteString(" --- |")
		} else {
			b.WriteString(" ---: |")
		}
	}
	b.WriteString("\n")
	for _, r := range rows {
		line(r)
	}
	b.WriteString("\n")
}

// markdown renders the report.
func markdown(rep *Report) string {
	var b strings.Builder
	stores := ranStores(rep)
	m := rep.Machine
	fmt.Fprintf(&b, "# mapkv comparative benchmark (%s)\n\n", rep.Mode)
	fmt.Fprintf(&b, "%s, %d keys of %d bytes with %d-byte values, at most %v per workload; run %s, took %v.  \n",
		rep.Mode, rep.Keys, keySize, valueSize, rep.Budget, rep.Started.Format("2006-01-02 15:04 MST"), rep.Elapsed.Round(time.Second))
	fmt.Fprintf(&b, "Machine: %s, %d CPUs (%s), %s, %s; stores in %s.", m.OS, m.CPUs, m.CPU, m.Kernel, m.GoVersion, m.TempDir)
	if m.Redis != "" {
		fmt.Fprintf(&b, " %s.", m.Redis)
	}
	b.WriteString("\n\n")

	// Main table: ns/op and the ratio to mapkv.
	b.WriteString("## Time per operation (ns/op; ratio to mapkv, above 1 is slower than mapkv)\n\n")
	header := []string{"workload"}
	for _, st := range stores {
		if peerStatus(rep, st).Baseline {
			st += " (baseline)"
		}
		header = append(header, st)
	}
	var rows [][]string
	capped, errs := false, false
	var shown []string
	for _, w := range workloadOrder {
		row := []string{w}
		any := false
		base, hasBase := lookup(rep, baseStore(w), w)
		for _, st := range stores {
			r, ok := lookup(rep, st, w)
			switch {
			case !ok:
				row = append(row, "–")
				continue
			case r.Ops == 0:
				row = append(row, "error")
			default:
				cell := fmtNs(r.NsPerOp)
				if r.Capped() {
					cell += "*"
					capped = true
				}
				if hasBase && base.Ops > 0 && base.NsPerOp > 0 {
					cell += fmt.Sprintf(" (%.2f×)", r.NsPerOp/base.NsPerOp)
				}
				if r.Err != "" {
					cell += " ⚠"
					errs = true
				}
				row = append(row, cell)
			}
			any = true
		}
		if any {
			rows = append(rows, row)
			shown = append(shown, w)
		}
	}
	table(&b, "", header, rows)
	if capped {
		b.WriteString("\\* stopped by the time budget before all operations ran; the figure is the average of those that did (see results.json for counts).  \n")
	}
	if errs {
		b.WriteString("⚠ the workload reported an error (listed under Problems).  \n")
	}
	b.WriteString("Workloads: ")
	var docs []string
	for _, w := range shown {
		docs = append(docs, fmt.Sprintf("**%s** %s", w, workloadDoc[w]))
	}
	b.WriteString(strings.Join(docs, "; ") + ".\n\n")

	// Throughput and allocations.
	b.WriteString("## Throughput and allocations (ops/s · heap allocations per op)\n\n")
	rows = nil
	for _, w := range workloadOrder {
		row := []string{w}
		any := false
		for _, st := range stores {
			r, ok := lookup(rep, st, w)
			if !ok || r.Ops == 0 {
				row = append(row, "–")
				continue
			}
			any = true
			row = append(row, fmt.Sprintf("%s/s · %.2f", fmtRate(r.OpsPerSec), r.AllocsPerOp))
		}
		if any {
			rows = append(rows, row)
		}
	}
	table(&b, "", header, rows)

	// The durable writes: their own tables (durablereport.go).
	if len(rep.Durable) > 0 {
		durableMarkdown(&b, rep)
	}

	// Latency.
	if len(rep.Latencies) > 0 {
		latencyTable(&b, rep, stores)
	}

	// Size, reader processes, snapshots and scaling: none in a -durable run.
	if len(rep.Sizes) > 0 {
		b.WriteString("## Size after the batched load\n\n")
		rows = nil
		for _, si := range rep.Sizes {
			if si.Keys == 0 {
				continue
			}
			what := fmtBytes(si.Apparent)
			alloc := fmtBytes(si.Allocated)
			if si.Memory {
				what += " (server used_memory)"
				alloc = "–"
			}
			rows = append(rows, []string{si.Store, fmt.Sprint(si.Keys), what, alloc,
				fmt.Sprintf("%.0f", float64(si.Apparent)/float64(si.Keys))})
		}
		table(&b, "", []string{"store", "keys", "file size", "on disk", "bytes/key"}, rows)
	}

	// Reader processes.
	if len(rep.Readers) > 0 {
		b.WriteString("## Reader process (random Gets for a fixed time in a second process)\n\n")
		rows = nil
		for _, st := range stores {
			for _, rr := range rep.Readers {
				if rr.Store != st {
					continue
				}
				mode := "alone"
				writer := "–"
				if rr.Concurrent {
					mode = "beside a writer"
					if rr.Writer.Ops > 0 {
						writer = fmtNs(rr.Writer.NsPerOp)
					}
				}
				reader := "–"
				if rr.Reader.Ops > 0 {
					reader = fmtNs(rr.Reader.NsPerOp)
				}
				check := fmt.Sprintf("%d misses, %d bad of %d checked", rr.Misses, rr.BadValues, rr.Checked)
				if rr.Err != "" {
					check = "error: " + rr.Err
				}
				peak := fmtBytes(rr.Mem.PeakRSS)
				if rr.ServerMem.PeakRSS > 0 {
					peak += fmt.Sprintf(" (server %s)", fmtBytes(rr.ServerMem.PeakRSS))
				}
				rows = append(rows, []string{st, mode, reader, writer, peak, fmtBytes(rr.Mem.RSSAnon), fmtBytes(rr.Mem.RSSFile), check})
			}
			if p := peerStatus(rep, st); !p.MultiProcess && p.WhyNot != "" {
				rows = append(rows, []string{st, "beside a writer", "not possible", "–", "–", "–", "–", p.WhyNot})
			}
		}
		table(&b, "llrrrrrl", []string{"store", "reader", "ns/get", "writer ns/put", "reader peak RSS (VmHWM)", "RssAnon at end", "RssFile at end", "checks"}, rows)
		b.WriteString("RssFile counts the pages of a mapped file that the reader touched: they are page cache, shared with every other process, not memory of its own.\n\n")
	}

	// Snapshots.
	if len(rep.Snapshots) > 0 {
		b.WriteString("## Online snapshot vs copy_file_range of the same file (best of 3, hot page cache)\n\n")
		rows = nil
		for _, st := range stores {
			// A copy that syncs is compared with copy_file_range+fsync,
			// one that does not with copy_file_range alone.
			var ref, refSync float64
			for _, sn := range rep.Snapshots {
				if sn.Store == st && sn.Method == copyMethod {
					ref = sn.MBps()
				}
				if sn.Store == st && sn.Method == copyMethod+"+fsync" {
					refSync = sn.MBps()
				}
			}
			for _, sn := range rep.Snapshots {
				if sn.Store != st {
					continue
				}
				if sn.Err != "" {
					rows = append(rows, []string{st, sn.Method, "error: " + sn.Err, "", "", ""})
					continue
				}
				ratio := "–"
				r := ref
				if strings.HasSuffix(sn.Method, "(fsync)") || sn.Method == copyMethod+"+fsync" {
					r = refSync
				}
				if r > 0 {
					ratio = fmt.Sprintf("%.2f", sn.MBps()/r)
				}
				rows = append(rows, []string{st, sn.Method, fmt.Sprintf("%.0f", sn.MBps()), fmtBytes(sn.Bytes), fmtDur(sn.Elapsed), ratio})
			}
		}
		table(&b, "ll", []string{"store", "method", "MB/s", "bytes", "time", "vs " + copyMethod + " (with fsync when the method syncs)"}, rows)
	}

	// Scaling.
	if len(rep.Scaling) > 0 {
		b.WriteString("## Cost vs key count (ns/op, random keys)\n\n")
		var sizes []int
		for _, sp := range rep.Scaling {
			if !slices.Contains(sizes, roundSize(sp.Keys)) {
				sizes = append(sizes, roundSize(sp.Keys))
			}
		}
		slices.Sort(sizes)
		header = []string{"store", "op"}
		for _, n := range sizes {
			header = append(header, fmtCount(n))
		}
		rows = nil
		for _, st := range stores {
			for _, op := range []string{"get", "put"} {
				row := []string{st, op}
				for _, n := range sizes {
					cell := "–"
					for _, sp := range rep.Scaling {
						if sp.Store == st && sp.Op == op && roundSize(sp.Keys) == n {
							if sp.Err != "" || sp.Ops == 0 {
								cell = "error"
							} else {
								cell = fmtNs(sp.NsPerOp)
							}
						}
					}
					row = append(row, cell)
				}
				rows = append(rows, row)
			}
		}
		table(&b, "ll", header, rows)
	}

	// Stores.
	b.WriteString("## Stores\n\n")
	rows = nil
	for _, p := range rep.Peers {
		status := "ran"
		if p.Problem != "" {
			if p.Ran {
				status = "ran, with a problem: " + p.Problem
			} else {
				status = "**not run**: " + p.Problem
			}
		}
		two := "yes"
		if !p.MultiProcess {
			two = "no: " + p.WhyNot
		}
		rows = append(rows, []string{p.Name, status, p.Notes, two})
	}
	table(&b, "llll", []string{"store", "status", "settings", "two processes on one store"}, rows)

	var probs []string
	for _, r := range rep.Results {
		// The durable rows' errors are listed per round below.
		if r.Err != "" && !(len(rep.Durable) > 0 && strings.HasPrefix(r.Workload, "durable-put")) {
			probs = append(probs, fmt.Sprintf("- %s %s: %s (after %d ops)", r.Store, r.Workload, r.Err, r.Ops))
		}
	}
	for _, rr := range rep.Readers {
		if rr.Err != "" {
			probs = append(probs, fmt.Sprintf("- %s reader process (concurrent=%v): %s", rr.Store, rr.Concurrent, rr.Err))
		}
		if rr.BadValues > 0 {
			probs = append(probs, fmt.Sprintf("- %s reader process (concurrent=%v): %d values were none of the versions written", rr.Store, rr.Concurrent, rr.BadValues))
		}
	}
	for _, dr := range rep.Durable {
		if dr.Err != "" {
			probs = append(probs, fmt.Sprintf("- %s %s round %d: %s (after %d writes)", dr.Store, dr.Workload, dr.Round+1, dr.Err, dr.Writes))
		}
	}
	for _, sp := range rep.Scaling {
		if sp.Err != "" {
			probs = append(probs, fmt.Sprintf("- %s %s at %d keys: %s", sp.Store, sp.Op, sp.Keys, sp.Err))
		}
	}
	if len(probs) > 0 {
		b.WriteString("## Problems\n\n" + strings.Join(probs, "\n") + "\n\n")
	}
	b.WriteString("Charts: workloads.svg (ns/op per workload, log scale) and scaling.svg (ns/op vs key count).\n")
	return b.String()
}

func peerStatus(rep *Report, name string) PeerStatus {
	for _, p := range rep.Peers {
		if p.Name == name {
			return p
		}
	}
	return PeerStatus{}
}

// roundSize maps a loaded key count to its nominal size (a budget-cut
// load still belongs to its column).
func roundSize(n int) int {
	for _, s := range []int{10_000_000, 1_000_000, 100_000, 10_000} {
		if n >= s/2 && n <= s {
			return s
		}
	}
	return n
}

func fmtCount(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM keys", n/1_000_000)
	case n >= 1_000 && n%1_000 == 0:
		return fmt.Sprintf("%dk keys", n/1_000)
	default:
		return fmt.Sprintf("%d keys", n)
	}
}

// latencyTable writes the percentiles of the latency passes (none in a
// -durable run: its latencies are in the durable tables).
func latencyTable(b *strings.Builder, rep *Report, stores []string) {
	b.WriteString("## Latency of single operations (random keys, each timed on its own)\n\n")
	var rows [][]string
	for _, st := range stores {
		row := []string{st}
		for _, op := range []string{"get", "put"} {
			var l Latency
			for _, x := range rep.Latencies {
				if x.Store == st && x.Op == op {
					l = x
				}
			}
			if l.Samples == 0 {
				row = append(row, "–", "–", "–", "–", "–")
				continue
			}
			row = append(row, fmtDur(l.P50), fmtDur(l.P99), fmtDur(l.P999), fmtDur(l.Max), fmt.Sprint(l.Samples))
		}
		rows = append(rows, row)
	}
	table(b, "", []string{"store", "get p50", "get p99", "get p99.9", "get max", "samples", "put p50", "put p99", "put p99.9", "put max", "samples"}, rows)
}
