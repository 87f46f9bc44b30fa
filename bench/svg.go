package main

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
)

// The charts are written by hand: a few rectangles, lines and labels need
// no plotting library.

var palette = []string{"#d62728", "#1f77b4", "#aec7e8", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"}

func storeColor(rep *Report, store string) string {
	for i, p := range rep.Peers {
		if p.Name == store {
			return palette[i%len(palette)]
		}
	}
	return "#777"
}

// logAxis returns the decades that cover [lo, hi].
func logAxis(lo, hi float64) (float64, float64) {
	if lo <= 0 {
		lo = 1
	}
	if hi <= lo {
		hi = lo * 10
	}
	return math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))
}

func fmtTick(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%gs", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%gms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%gµs", ns/1e3)
	default:
		return fmt.Sprintf("%gns", ns)
	}
}

type svgDoc struct{ b strings.Builder }

func (d *svgDoc) f(format string, args ...any) {
	fmt.Fprintf(&d.b, format, args...)
	d.b.WriteByte('\n')
}

func (d *svgDoc) text(x, y float64, anchor, style, s string) {
	d.f(`<text x="%.1f" y="%.1f" text-anchor="%s" %s>%s</text>`, x, y, anchor, style, html.EscapeString(s))
}

func (d *svgDoc) begin(w, h float64, title string) {
	d.f(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="11">`, w, h, w, h)
	d.f(`<rect width="100%%" height="100%%" fill="white"/>`)
	d.text(w/2, 20, "middle", `font-size="14" font-weight="bold"`, title)
}

func (d *svgDoc) end() string { d.f(`</svg>`); return d.b.String() }

// yLogGrid draws horizontal grid lines and labels at each decade and at
// 2 and 5 times it, and returns the mapping from a value to y.
func (d *svgDoc) yLogGrid(x0, x1, y0, y1, lo, hi float64) func(float64) float64 {
	ly, lh := math.Log10(lo), math.Log10(hi)
	y := func(v float64) float64 {
		v = max(v, lo)
		return y1 - (math.Log10(v)-ly)/(lh-ly)*(y1-y0)
	}
	for dec := lo; dec <= hi*1.001; dec *= 10 {
		for _, m := range []float64{1, 2, 5} {
			v := dec * m
			if v > hi*1.001 {
				break
			}
			stroke := "#eee"
			if m == 1 {
				stroke = "#ccc"
				d.text(x0-6, y(v)+4, "end", "", fmtTick(v))
			}
			d.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`, x0, y(v), x1, y(v), stroke)
		}
	}
	d.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`, x0, y0, x0, y1)
	d.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`, x0, y1, x1, y1)
	return y
}

func (d *svgDoc) legend(x, y float64, names, colors []string, dashed []bool) {
	for i, n := range names {
		yy := y + float64(i)*16
		dash := ""
		if dashed != nil && dashed[i] {
			dash = ` stroke-dasharray="5,3"`
		}
		d.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="8"%s/>`, x, yy, x+18, yy, colors[i], dash)
		d.text(x+24, yy+4, "start", "", n)
	}
}

// workloadChart is a grouped bar chart: ns/op of each workload on each
// store, log scale.
func workloadChart(rep *Report) string {
	stores := ranStores(rep)
	type bar struct {
		store string
		ns    float64
	}
	var groups []string
	var bars [][]bar
	lo, hi := math.Inf(1), 0.0
	for _, w := range workloadOrder {
		var g []bar
		for _, st := range stores {
			if r, ok := lookup(rep, st, w); ok && r.Ops > 0 {
				g = append(g, bar{st, r.NsPerOp})
				lo, hi = min(lo, r.NsPerOp), max(hi, r.NsPerOp)
			}
		}
		if len(g) > 0 {
			groups = append(groups, w)
			bars = append(bars, g)
		}
	}
	var d svgDoc
	if len(groups) == 0 {
		d.begin(400, 60, "no results")
		return d.end()
	}
	lo, hi = logAxis(lo, hi)
	const barW, gap, left, top, plotH = 12.0, 18.0, 70.0, 40.0, 360.0
	n := float64(len(stores))
	w := left + float64(len(groups))*(n*barW+gap) + 150
	h := top + plotH + 90
	d.begin(w, h, fmt.Sprintf("mapkv bench (%s, %d keys): time per operation, log scale, lower is better", rep.Mode, rep.Keys))
	x1 := left + float64(len(groups))*(n*barW+gap)
	y := d.yLogGrid(left, x1, top, top+plotH, lo, hi)
	for gi, g := range groups {
		gx := left + gap/2 + float64(gi)*(n*barW+gap)
		for _, b := range bars[gi] {
			si := slices.Index(stores, b.store)
			x := gx + float64(si)*barW
			d.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s ns/op</title></rect>`,
				x, y(b.ns), barW-1, top+plotH-y(b.ns), storeColor(rep, b.store), html.EscapeString(b.store), html.EscapeString(g), fmtNs(b.ns))
		}
		cx := gx + n*barW/2
		d.f(`<text x="%.1f" y="%.1f" text-anchor="end" transform="rotate(-35 %.1f %.1f)">%s</text>`,
			cx, top+plotH+14, cx, top+plotH+14, html.EscapeString(g))
	}
	var colors []string
	for _, st := range stores {
		colors = append(colors, storeColor(rep, st))
	}
	d.legend(x1+20, top+10, stores, colors, nil)
	return d.end()
}

// scalingChart is a line chart of ns/op against key count, both log
// scale: one solid line per store for Get, a dashed one for Put.
func scalingChart(rep *Report) string {
	stores := ranStores(rep)
	type pt struct{ keys, ns float64 }
	lines := map[string][]pt{}
	lo, hi := math.Inf(1), 0.0
	kmin, kmax := math.Inf(1), 0.0
	for _, sp := range rep.Scaling {
		if sp.Err != "" || sp.Ops == 0 {
			continue
		}
		k := sp.Store + "\x00" + sp.Op
		lines[k] = append(lines[k], pt{float64(sp.Keys), sp.NsPerOp})
		lo, hi = min(lo, sp.NsPerOp), max(hi, sp.NsPerOp)
		kmin, kmax = min(kmin, float64(sp.Keys)), max(kmax, float64(sp.Keys))
	}
	var d svgDoc
	if len(lines) == 0 {
		d.begin(400, 60, "no scaling results")
		return d.end()
	}
	lo, hi = logAxis(lo, hi)
	kmin, kmax = logAxis(kmin, kmax)
	const left, top, plotW, plotH = 70.0, 40.0, 520.0, 360.0
	d.begin(left+plotW+190, top+plotH+60, fmt.Sprintf("mapkv bench (%s): cost vs key count, log-log, lower is better", rep.Mode))
	y := d.yLogGrid(left, left+plotW, top, top+plotH, lo, hi)
	x := func(k float64) float64 {
		return left + (math.Log10(k)-math.Log10(kmin))/(math.Log10(kmax)-math.Log10(kmin))*plotW
	}
	for k := kmin; k <= kmax*1.001; k *= 10 {
		d.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`, x(k), top, x(k), top+plotH)
		d.text(x(k), top+plotH+16, "middle", "", fmtCount(int(k)))
	}
	d.text(left+plotW/2, top+plotH+40, "middle", "", "keys stored")
	var names, colors []string
	var dashed []bool
	for _, st := range stores {
		for _, op := range []string{"get", "put"} {
			ps := lines[st+"\x00"+op]
			if len(ps) == 0 {
				continue
			}
			slices.SortFunc(ps, func(a, b pt) int { return int(a.keys - b.keys) })
			var path []string
			for _, p := range ps {
				path = append(path, fmt.Sprintf("%.1f,%.1f", x(p.keys), y(p.ns)))
			}
			dash := ""
			if op == "put" {
				dash = ` stroke-dasharray="5,3"`
			}
			c := storeColor(rep, st)
			d.f(`<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`, strings.Join(path, " "), c, dash)
			for _, p := range ps {
				d.f(`<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s at %d keys: %s ns/op</title></circle>`,
					x(p.keys), y(p.ns), c, st, op, int(p.keys), fmtNs(p.ns))
			}
			names = append(names, st+" "+op)
			colors = append(colors, c)
			dashed = append(dashed, op == "put")
		}
	}
	d.legend(left+plotW+20, top+10, names, colors, dashed)
	return d.end()
}
