package main

import (
	"fmt"
	"html"
	"strings"
)

// The hit-ratio report: markdown tables and one SVG bar chart.

func findResult(rep *hitReport, tr, cache string, bytesMode bool) (hitResult, bool) {
	for _, r := range rep.Results {
		if r.Trace == tr && r.Cache == cache && r.Bytes == bytesMode {
			return r, true
		}
	}
	return hitResult{}, false
}

// goalOf says how a cache stands against issue 11's goal on one trace: at
// least LRU, and within 0.02 of the better of otter and ristretto.
func goalOf(rep *hitReport, tr, cache string, bytesMode bool) (vsLRU, vsBest float64, ok bool) {
	r, ok1 := findResult(rep, tr, cache, bytesMode)
	l, ok2 := findResult(rep, tr, "lru", bytesMode)
	o, ok3 := findResult(rep, tr, "otter", bytesMode)
	s, ok4 := findResult(rep, tr, "ristretto", bytesMode)
	if !ok1 || !ok2 || !ok3 || !ok4 || r.Err != "" {
		return 0, 0, false
	}
	return r.Ratio - l.Ratio, r.Ratio - max(o.Ratio, s.Ratio), true
}

func hitMarkdown(rep *hitReport) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Hit ratios: mapkv, LRU, otter, ristretto and simulated policies (%s)\n\n", rep.Mode)
	w("Capacity %d entries (values of %d bytes, keys of %d), or %d bytes of key and value (values of varied sizes, mean payload %.0f bytes). "+
		"Each trace is %d requests; the first %d warm the cache and are not counted. Every request is a Get; a miss Puts the key.\n\n",
		rep.Capacity, fixedValue, keySize, rep.Bytes, float64(rep.Bytes)/float64(rep.Capacity), rep.Requests, rep.Warm)
	w("| trace | what |\n| --- | --- |\n")
	for _, t := range rep.Traces {
		w("| %s | %s |\n", t.Name, t.What)
	}
	w("\n| cache | what |\n| --- | --- |\n")
	for _, c := range rep.Caches {
		w("| %s | %s |\n", c.Name, c.Desc)
	}
	for _, bytesMode := range []bool{false, true} {
		w("\n## Hit ratio, capacity in %s\n\n", modeName(bytesMode))
		w("| trace |")
		for _, c := range rep.Caches {
			w(" %s |", c.Name)
		}
		w("\n| --- |")
		for range rep.Caches {
			w(" ---: |")
		}
		w("\n")
		for _, t := range rep.Traces {
			w("| %s |", t.Name)
			for _, c := range rep.Caches {
				r, ok := findResult(rep, t.Name, c.Name, bytesMode)
				switch {
				case !ok:
					w(" |")
				case r.Err != "":
					w(" fails |")
				default:
					w(" %.4f |", r.Ratio)
				}
			}
			w("\n")
		}
		w("\nMean held while measured, as a share of the capacity (entries, or key-and-value bytes):\n\n| trace |")
		for _, c := range rep.Caches {
			w(" %s |", c.Name)
		}
		w("\n| --- |")
		for range rep.Caches {
			w(" ---: |")
		}
		w("\n")
		for _, t := range rep.Traces {
			w("| %s |", t.Name)
			for _, c := range rep.Caches {
				if r, ok := findResult(rep, t.Name, c.Name, bytesMode); ok && r.Err == "" {
					w(" %.3f |", r.Held/float64(r.Capacity))
				} else {
					w(" |")
				}
			}
			w("\n")
		}
		w("\nAgainst the goal (hit ratio minus LRU's / minus the better of otter and ristretto; the goal is >= 0 / >= -0.02):\n\n| cache |")
		for _, t := range rep.Traces {
			w(" %s |", t.Name)
		}
		w(" meets it |\n| --- |")
		for range rep.Traces {
			w(" ---: |")
		}
		w(" --- |\n")
		for _, c := range rep.Caches {
			if c.Name == "lru" || c.Name == "otter" || c.Name == "ristretto" {
				continue
			}
			w("| %s |", c.Name)
			meets := true
			for _, t := range rep.Traces {
				l, bst, ok := goalOf(rep, t.Name, c.Name, bytesMode)
				if !ok {
					w(" - |")
					meets = false
					continue
				}
				w(" %+.3f / %+.3f |", l, bst)
				meets = meets && l >= 0 && bst >= -0.02
			}
			w(" %v |\n", meets)
		}
		var errs []string
		for _, r := range rep.Results {
			if r.Bytes == bytesMode && r.Err != "" {
				errs = append(errs, fmt.Sprintf("- %s on %s: %s", r.Cache, r.Trace, r.Err))
			}
		}
		if len(errs) > 0 {
			w("\nFailures:\n\n%s\n", strings.Join(errs, "\n"))
		}
		w("\nNotes (what the simulated policies cost the file; the real caches' counters):\n\n")
		for _, r := range rep.Results {
			if r.Bytes == bytesMode && r.Note != "" {
				w("- %s, %s: %s\n", r.Cache, r.Trace, r.Note)
			}
		}
	}
	w("\nRun took %.0f s on %s (%d CPUs), %s.\n", rep.Elapsed, rep.Machine.CPU, rep.Machine.CPUs, rep.Machine.GoVersion)
	return b.String()
}

// hitChart draws the hit ratios as grouped bars, one panel per capacity
// mode, linear scale 0..1.
func hitChart(rep *hitReport) string {
	const barW, gap, left, top, plotH, panelGap = 7.0, 16.0, 50.0, 50.0, 240.0, 80.0
	n := float64(len(rep.Caches))
	groupW := n*barW + gap
	plotW := float64(len(rep.Traces)) * groupW
	wd := left + plotW + 190
	ht := top + 2*(plotH+panelGap)
	var d svgDoc
	d.begin(wd, ht, fmt.Sprintf("Hit ratio by trace (%s, %d entries / %d bytes), higher is better", rep.Mode, rep.Capacity, rep.Bytes))
	colors := make([]string, len(rep.Caches))
	names := make([]string, len(rep.Caches))
	for i, c := range rep.Caches {
		colors[i] = hitPalette[i%len(hitPalette)]
		names[i] = c.Name
	}
	for pi, bytesMode := range []bool{false, true} {
		y0 := top + float64(pi)*(plotH+panelGap)
		y1 := y0 + plotH
		d.text(left, y0-8, "start", `font-weight="bold"`, "capacity in "+modeName(bytesMode))
		y := func(v float64) float64 { return y1 - v*plotH }
		for v := 0.0; v <= 1.0001; v += 0.2 {
			d.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`, left, y(v), left+plotW, y(v))
			d.text(left-6, y(v)+4, "end", "", fmt.Sprintf("%.1f", v))
		}
		d.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`, left, y0, left, y1)
		d.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`, left, y1, left+plotW, y1)
		for ti, t := range rep.Traces {
			gx := left + gap/2 + float64(ti)*groupW
			for ci, c := range rep.Caches {
				r, ok := findResult(rep, t.Name, c.Name, bytesMode)
				x := gx + float64(ci)*barW
				if !ok || r.Err != "" {
					d.text(x+barW/2, y1-4, "middle", `font-size="8" fill="#c00"`, "x")
					continue
				}
				d.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s on %s: %.4f</title></rect>`,
					x, y(r.Ratio), barW-1, y1-y(r.Ratio), colors[ci], html.EscapeString(c.Name), html.EscapeString(t.Name), r.Ratio)
			}
			d.text(gx+n*barW/2, y1+16, "middle", "", t.Name)
		}
	}
	d.legend(left+plotW+20, top+10, names, colors, nil)
	return d.end()
}

var hitPalette = []string{"#777777", "#1f77b4", "#ff7f0e", "#d62728", "#c5b0d5", "#c49c94",
	"#2ca02c", "#98df8a", "#17becf", "#9467bd", "#e377c2", "#bcbd22"}
