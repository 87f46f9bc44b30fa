//go:build unix

package kv

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// The power-loss simulation's report: counts per class, where the failing
// gaps lie in the writer's call sequence, and examples.

// callLabel names call k by its place in what the writer was doing: "fdatasync
// 2/3 of an op" is the second of the three calls an op made.
func (r *plRun) callLabel(k int) string {
	c := r.tr.Calls[k]
	if c.Name == "start" || c.Name == "exit" {
		return c.Name
	}
	phase := func(i int) int { // -1 in Open, ops in Close
		if r.opened > i {
			return -1
		}
		return r.acked(i)
	}
	p := phase(k)
	first, last := k, k
	for first > 1 && phase(first-1) == p {
		first--
	}
	for last+1 < len(r.tr.Calls)-1 && phase(last+1) == p {
		last++
	}
	what := "an op"
	switch p {
	case -1:
		what = "Open"
	case r.cfg.ops:
		what = "Close"
	}
	return fmt.Sprintf("%s %d/%d of %s", c.Name, k-first+1, last-first+1, what)
}

// summary describes the run and, for each class of failure, up to most
// examples (all of them if most < 0).
func (r *plRun) summary(most int) string {
	var b strings.Builder
	calls := map[string]int{}
	for _, c := range r.tr.Calls {
		calls[c.Name]++
	}
	var names []string
	for n := range calls {
		if n != "start" && n != "exit" {
			names = append(names, fmt.Sprintf("%s %d", n, calls[n]))
		}
	}
	sort.Strings(names)
	fmt.Fprintf(&b, "power-loss %s, seed %d: %d ops (%d growths, %d table rebuilds, %d with flushes skipped); %d held calls (%s; %d other calls let through) recorded in %v\n",
		r.cfg.mode, r.seed, r.cfg.ops, r.growths, r.rehashes, r.skipped, len(r.tr.Calls)-2, strings.Join(names, ", "), r.tr.Ignored, r.recordTime.Round(time.Millisecond))
	rate := float64(r.images) / max(r.checkTime.Seconds(), 1e-9)
	fmt.Fprintf(&b, "%d gaps, %d tested (%d always: creation, size changes, directory syncs, growth, rebuilds, skipped flushes; %d sampled); %d distinct images of %d made, checked in %v (%.0f images/s); %d failed\n",
		r.tr.Gaps(), r.always+r.sampled, r.always, r.sampled, r.images, r.generated, r.checkTime.Round(time.Millisecond), rate, len(r.failures))
	classes := make([]string, 0, len(r.byClass))
	for c := range r.byClass {
		classes = append(classes, c)
	}
	sort.Slice(classes, func(i, j int) bool { return r.byClass[classes[i]] > r.byClass[classes[j]] })
	for _, c := range classes {
		fmt.Fprintf(&b, "  %-14s %d  (%s)\n", c, r.byClass[c], r.shapes(c, 4))
	}
	if most == 0 {
		return b.String()
	}
	for _, c := range classes {
		fmt.Fprintf(&b, "%s (%d):\n", c, r.byClass[c])
		n := 0
		for _, f := range r.failures {
			if f.res.Class != c {
				continue
			}
			if most > 0 && n == most {
				fmt.Fprintf(&b, "  ...\n")
				break
			}
			n++
			b.WriteString(r.describeFailure(f))
		}
	}
	return b.String()
}

// shapes counts the failures of class by the calls around their gap, most
// frequent first.
func (r *plRun) shapes(class string, most int) string {
	count := map[string]int{}
	for _, f := range r.failures {
		if f.res.Class == class {
			count[r.callLabel(f.gap)+" → "+r.callLabel(f.gap+1)]++
		}
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if count[keys[i]] != count[keys[j]] {
			return count[keys[i]] > count[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d between %s", count[k], k))
	}
	return strList(parts, most)
}

func (r *plRun) describeFailure(f plFailure) string {
	c0, c1 := r.tr.Calls[f.gap], r.tr.Calls[f.gap+1]
	where := fmt.Sprintf("gap %d, after %s (call %d, %s) and before %s (call %d, %s)",
		f.gap, c0, f.gap, r.callLabel(f.gap), c1, f.gap+1, r.callLabel(f.gap+1))
	var during string
	switch {
	case r.opened > f.gap+1:
		during = "during Open (creation)"
	case f.job.Pending:
		j := f.job.Acked
		during = fmt.Sprintf("op %d in progress: %s", j, r.w.ops[j])
		if fl := r.flags[j]; fl != "" {
			during += " [" + strings.NewReplacer("g", " growth", "r", " rebuild", "s", " flushes-skipped").Replace(fl) + " ]"
		}
	default:
		during = "after the last op"
	}
	img := fmt.Sprintf("image %q, length %d", f.kind, f.size)
	if f.missing {
		img = fmt.Sprintf("image %q", f.kind)
	}
	detail := f.res.Detail
	if len(detail) > 700 {
		detail = detail[:700] + "..."
	}
	detail = strings.ReplaceAll(strings.TrimSpace(detail), "\n", "\n      ")
	return fmt.Sprintf("  %s; %s; %d acknowledged\n    %s\n      %s\n", where, during, f.job.Acked, img, detail)
}
