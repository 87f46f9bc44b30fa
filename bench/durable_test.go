package main

import (
	"strings"
	"testing"
	"time"
)

// TestDurable runs the durable writes on every durable store and the floor,
// in two short rounds of at most testDurableWrites writes per writer, in
// the test's temporary directory (on disk, so every flush is real), and
// checks what each run did and that the report renders. The writer
// processes are this test binary (TestMain).
func TestDurable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and flushes to the disk")
	}
	const testDurableWrites = 20
	set := quickSettings()
	set.mode, set.keys, set.budget, set.durable = "test-durable", 500, time.Minute, true
	set.rounds, set.durableWrites = 2, testDurableWrites
	s := &suite{set: set, tmp: t.TempDir(), vals: newValues(seedValues), rep: &Report{Mode: set.mode, Keys: set.keys, Budget: set.budget}}
	var ps []*Peer
	for _, p := range allPeers() {
		if p.Durable {
			ps = append(ps, p)
		}
	}
	s.runDurable(ps)

	ran := map[string]bool{}
	for _, st := range s.rep.Peers {
		p := peers[st.Name]
		switch {
		case p.Unavailable != "":
			if st.Ran {
				t.Errorf("%s ran, though unavailable: %s", st.Name, p.Unavailable)
			}
			t.Logf("%s not run: %s", st.Name, p.Unavailable)
		case !st.Ran || st.Problem != "":
			t.Errorf("%s: ran=%v, problem %q", st.Name, st.Ran, st.Problem)
		default:
			ran[st.Name] = true
		}
	}
	if !ran[floorName] || !ran["mapkv-sync"] {
		t.Fatalf("the floor and mapkv-sync must run here: %v", ran)
	}

	measured := map[string]int{}
	for _, dr := range s.rep.Durable {
		name := dr.Store + " " + dr.Workload
		if dr.Skip != "" {
			if dr.Workload == "durable-put-4p" && peers[dr.Store].MultiProcess {
				t.Errorf("%s skipped, though the store allows writer processes: %s", name, dr.Skip)
			}
			continue
		}
		measured[name]++
		if dr.Err != "" {
			t.Errorf("%s round %d: %s", name, dr.Round, dr.Err)
			continue
		}
		if want := int64(dr.Writers * testDurableWrites); dr.Writes != want {
			t.Errorf("%s round %d: %d writes, want %d", name, dr.Round, dr.Writes, want)
		}
		if dr.Wall <= 0 || dr.NsPerWrite <= 0 || dr.P50 <= 0 || dr.P50 > dr.P99 || dr.P99 > dr.Max {
			t.Errorf("%s round %d: wall %v, %.0f ns/write, p50 %v p99 %v max %v", name, dr.Round, dr.Wall, dr.NsPerWrite, dr.P50, dr.P99, dr.Max)
		}
		// Every store here counts its commits. One writer, or writers
		// with a handle each, commit once per Put; goroutines sharing a
		// mapkv handle may share a commit, never split one.
		switch {
		case dr.Commits < 0:
			t.Errorf("%s round %d: no commit count", name, dr.Round)
		case dr.Store == "mapkv-sync" && dr.Workload == "durable-put-4g":
			if dr.Commits < 1 || dr.Commits > dr.Writes {
				t.Errorf("%s round %d: %d commits for %d writes", name, dr.Round, dr.Commits, dr.Writes)
			}
		case dr.Commits != dr.Writes:
			t.Errorf("%s round %d: %d commits for %d writes, want one each", name, dr.Round, dr.Commits, dr.Writes)
		}
	}
	for st := range ran {
		for _, m := range durableModes {
			name := st + " " + m.workload
			if m.why(peers[st]) == "" && measured[name] != set.rounds {
				t.Errorf("%s: measured in %d rounds, want %d", name, measured[name], set.rounds)
			}
		}
	}

	md := markdown(s.rep)
	wants := []string{"## Durable writes (medians of 2 rounds)", "| " + floorName + " (baseline) |",
		"| mapkv-sync | 4 processes, a handle each |", "### Targets (issue 9, item 3)"}
	for _, tg := range durableTargets {
		if ran[tg.num[0]] && ran[tg.den[0]] {
			wants = append(wants, "| "+tg.what+" | ")
		}
	}
	for _, want := range wants {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	for _, tg := range durableTargets {
		if ran[tg.num[0]] && ran[tg.den[0]] && strings.Contains(md, "| "+tg.what+" | not measured") {
			t.Errorf("target %q not measured:\n%s", tg.what, md)
		}
	}
	if svg := workloadChart(s.rep); !strings.Contains(svg, "durable-put-4p") {
		t.Errorf("the chart lacks the durable rows: %.300s", svg)
	}
}
