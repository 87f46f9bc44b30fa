package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// durableTarget is one ratio issue 9 (item 3) sets a target for: the cost
// per write of num over that of den, in the same round.
type durableTarget struct {
	what     string
	num, den [2]string // store, workload
	limit    float64
	note     string
}

var durableTargets = []durableTarget{
	{what: "mapkv-sync 1 writer / floor", num: [2]string{"mapkv-sync", "durable-put"}, den: [2]string{floorName, "durable-put"}, limit: 1.2},
	{what: "mapkv-sync 1 writer / lmdb-sync 1 writer", num: [2]string{"mapkv-sync", "durable-put"}, den: [2]string{"lmdb-sync", "durable-put"}, limit: 0.5},
	{what: "mapkv-sync 4 goroutines, one handle, per write / floor", num: [2]string{"mapkv-sync", "durable-put-4g"}, den: [2]string{floorName, "durable-put"}, limit: 0.5,
		note: "group commit: the goroutines share commits and flushes"},
	{what: "mapkv-sync 4 processes, per write / floor", num: [2]string{"mapkv-sync", "durable-put-4p"}, den: [2]string{floorName, "durable-put"}, limit: 0.5,
		note: "handles in different processes cannot share a flush: each write pays one"},
}

// durableHow says how a workload's writers write.
var durableHow = map[string]string{
	"durable-put":    "1",
	"durable-put-4g": "4 goroutines, one handle",
	"durable-put-4p": "4 processes, a handle each",
}

// durableRounds returns the measured rounds of one store and workload by
// round: the runs that made writes.
func durableRounds(rep *Report, store, workload string) map[int]DurableRun {
	out := map[int]DurableRun{}
	for _, dr := range rep.Durable {
		if dr.Store == store && dr.Workload == workload && dr.Skip == "" && dr.Writes > 0 {
			out[dr.Round] = dr
		}
	}
	return out
}

// roundRatios returns, for every round where both ran, num's cost per
// write over den's: the stores of one round ran minutes apart at most, so
// their ratio is steadier than the ratio of the medians.
func roundRatios(rep *Report, num, den [2]string) []float64 {
	a, b := durableRounds(rep, num[0], num[1]), durableRounds(rep, den[0], den[1])
	var out []float64
	for r, x := range a {
		if y, ok := b[r]; ok && y.NsPerWrite > 0 {
			out = append(out, x.NsPerWrite/y.NsPerWrite)
		}
	}
	return out
}

// spread formats the range of xs with f.
func spread(xs []float64, f func(float64) string) string {
	if len(xs) < 2 {
		return "–"
	}
	return f(slices.Min(xs)) + "–" + f(slices.Max(xs))
}

func fmtRatio(x float64) string { return fmt.Sprintf("%.2f", x) }

func fmtNsDur(ns float64) string { return fmtDur(time.Duration(ns)) }

// durableMarkdown writes the tables of the durable writes: every store and
// way of writing with its latencies, then the targets of issue 9.
func durableMarkdown(b *strings.Builder, rep *Report) {
	rounds := fmt.Sprintf("medians of %d rounds", rep.Rounds)
	if rep.Rounds == 1 {
		rounds = "one round"
	}
	fmt.Fprintf(b, "## Durable writes (%s)\n\n", rounds)
	b.WriteString("Each measurement writes random existing keys for the time budget; every round runs all of them, " +
		"the stores interleaved and the order rotated by one each round. *per write* is the wall time of all " +
		"writers together over their writes; *× floor* is the median over the rounds of its ratio to the floor's " +
		"single writer in the same round; the latencies are those of single calls over every writer; " +
		"*commits/write* is the store's own count of write transactions (for the floor, its fdatasyncs).\n\n")
	var rows [][]string
	for _, st := range ranStores(rep) {
		name := st
		if peerStatus(rep, st).Baseline {
			name += " (baseline, not a key-value store)"
		}
		for _, m := range durableModes {
			skip := ""
			for _, dr := range rep.Durable {
				if dr.Store == st && dr.Workload == m.workload && dr.Skip != "" {
					skip = dr.Skip
				}
			}
			runs := durableRounds(rep, st, m.workload)
			switch {
			case skip != "":
				rows = append(rows, []string{name, durableHow[m.workload], "not run: " + skip, "", "", "", "", "", "", "", ""})
				continue
			case len(runs) == 0:
				if slices.ContainsFunc(rep.Durable, func(dr DurableRun) bool { return dr.Store == st && dr.Workload == m.workload }) {
					rows = append(rows, []string{name, durableHow[m.workload], "error", "", "", "", "", "", "", "", ""})
				}
				continue
			}
			var ns, p50, p99, p999, cpw []float64
			var writes int64
			var worst time.Duration
			failed := slices.ContainsFunc(rep.Durable, func(dr DurableRun) bool {
				return dr.Store == st && dr.Workload == m.workload && dr.Err != ""
			})
			for _, dr := range runs {
				ns = append(ns, dr.NsPerWrite)
				p50, p99, p999 = append(p50, float64(dr.P50)), append(p99, float64(dr.P99)), append(p999, float64(dr.P999))
				writes += dr.Writes
				worst = max(worst, dr.Max)
				if dr.Commits >= 0 {
					cpw = append(cpw, float64(dr.Commits)/float64(dr.Writes))
				}
			}
			cost := fmtNsDur(median(ns))
			if failed {
				cost += " ⚠"
			}
			xfloor := "–"
			if rs := roundRatios(rep, [2]string{st, m.workload}, [2]string{floorName, "durable-put"}); len(rs) > 0 {
				xfloor = fmtRatio(median(rs))
			}
			commits := "–"
			if len(cpw) > 0 {
				commits = fmtRatio(median(cpw))
			}
			rows = append(rows, []string{name, durableHow[m.workload], cost, spread(ns, fmtNsDur), xfloor,
				fmtNsDur(median(p50)), fmtNsDur(median(p99)), fmtNsDur(median(p999)), fmtDur(worst), commits, fmt.Sprint(writes)})
		}
	}
	table(b, "ll", []string{"store", "writers", "per write", "rounds min–max", "× floor", "p50", "p99", "p99.9", "max", "commits/write", "writes"}, rows)

	fmt.Fprintf(b, "### Targets (issue 9, item 3)\n\n")
	rows = nil
	for _, t := range durableTargets {
		rs := roundRatios(rep, t.num, t.den)
		if len(rs) == 0 {
			rows = append(rows, []string{t.what, "not measured", "", fmt.Sprintf("≤ %.1f", t.limit), "–", t.note})
			continue
		}
		met := "**no**"
		// A ratio that prints as the limit meets it.
		if median(rs) <= t.limit+1e-9 {
			met = "yes"
		}
		rows = append(rows, []string{t.what, fmtRatio(median(rs)), spread(rs, fmtRatio), fmt.Sprintf("≤ %.1f", t.limit), met, t.note})
	}
	table(b, "lrrrll", []string{"ratio of the costs per write", "median of the rounds", "rounds min–max", "target", "met", "why"}, rows)
}
