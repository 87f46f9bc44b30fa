// Command bench compares mapkv with bbolt, LMDB, pogreb and Redis on the
// same workloads, and writes a markdown report, a JSON file and two SVG
// charts. See README.md; run.sh is the one command that runs it all.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	quick := fs.Bool("quick", false, "100k keys and short time bounds (about 3 minutes)")
	keys := fs.Int("keys", 0, "keys to load (default 1M, or 100k with -quick)")
	budget := fs.Duration("budget", 0, "time bound of one workload (default 12s, or 3s with -quick)")
	huge := fs.Bool("huge", false, "add 10M keys to the cost-vs-size runs (slow, ~2 GB of disk per store)")
	storesFlag := fs.String("stores", "", "comma-separated stores to run (default all but the durable-only ones: mapkv-sync, lmdb-sync and the floor)")
	durable := fs.Bool("durable", false, "run only the durable writes (1 writer, 4 goroutines, 4 processes), on the stores that flush every commit (mapkv-sync, bbolt, lmdb-sync) and the floor (pwrite+fdatasync)")
	rounds := fs.Int("rounds", 3, "rounds of the durable writes: every measurement runs once a round, the stores interleaved; the report gives medians")
	out := fs.String("out", "results", "directory for the report; written to OUT/MODE/")
	hitratio := fs.Bool("hitratio", false, "replay the cache traces of issue 11 through LRU, otter, ristretto, mapkv and the simulated policies (-quick: small traces); writes OUT/hitratio-MODE/")
	hitCaches := fs.String("caches", "", "with -hitratio: comma-separated caches to run (default all)")
	hitTraces := fs.String("traces", "", "with -hitratio: comma-separated traces to run (default all)")
	sweep := fs.Bool("sweep", false, "with -hitratio: add the parameter variants of the simulated policies (simsweep.go)")
	putbound := fs.Bool("putbound", false, "time mapkv Put of 1 KiB values far below MaxSize and at it (issue 11)")
	var child childFlags
	child.register(fs)
	var writer writerFlags
	writer.register(fs)
	fs.Parse(os.Args[1:])

	if child.store != "" {
		os.Exit(childMain(child))
	}
	if writer.store != "" {
		os.Exit(writerMain(writer))
	}

	if *hitratio {
		hs := fullHitSettings()
		if *quick {
			hs = quickHitSettings()
		}
		hs.caches, hs.traceNames, hs.sweep = splitList(*hitCaches), splitList(*hitTraces), *sweep
		os.Exit(runHitRatio(hs, *out))
	}
	if *putbound {
		os.Exit(runPutBound(*quick))
	}

	set := fullSettings()
	if *quick {
		set = quickSettings()
	}
	if *keys > 0 {
		set.keys = *keys
		set.mode += "-" + strconv.Itoa(*keys)
	}
	if *budget > 0 {
		set.budget = *budget
	}
	if *huge {
		set.sizes = append(set.sizes, 10_000_000)
	}
	if *durable {
		set.durable = true
		set.mode += "-durable"
	}
	if *rounds < 1 {
		fmt.Fprintln(os.Stderr, "bench: -rounds must be at least 1")
		os.Exit(2)
	}
	set.rounds = *rounds
	want := map[string]bool{}
	for _, name := range strings.Split(*storesFlag, ",") {
		if name = strings.TrimSpace(name); name != "" {
			p := peers[name]
			if p == nil {
				fmt.Fprintf(os.Stderr, "bench: unknown store %q\n", name)
				os.Exit(2)
			}
			if *durable && !p.Durable {
				fmt.Fprintf(os.Stderr, "bench: -durable: store %q does not flush its commits\n", name)
				os.Exit(2)
			}
			want[name] = true
		}
	}
	if len(want) == 0 {
		// The default set: every store but the durable variants, or with
		// -durable only the durable stores.
		for _, p := range allPeers() {
			if (*durable && p.Durable) || (!*durable && !p.DurableOnly) {
				want[p.Name] = true
			}
		}
	}
	os.Exit(run(set, want, *out))
}

func run(set settings, want map[string]bool, out string) int {
	start := time.Now()
	tmp, err := os.MkdirTemp("", "mapkv-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	s := &suite{set: set, tmp: tmp, vals: newValues(seedValues), rep: &Report{
		Mode: set.mode, Keys: set.keys, Budget: set.budget, Started: start, Machine: machine(tmp),
	}}
	cleanup := func() {
		s.server.Stop()
		os.RemoveAll(tmp)
	}
	defer cleanup()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "bench: interrupted, cleaning up")
		cleanup()
		os.Exit(130)
	}()

	fmt.Fprintf(os.Stderr, "bench: mode %s, %d keys, %v per workload, stores in %s\n", set.mode, set.keys, set.budget, tmp)
	var durable []*Peer
	for _, p := range allPeers() {
		if !want[p.Name] {
			continue
		}
		if set.durable || p.DurableOnly {
			durable = append(durable, p)
			continue
		}
		ps := PeerStatus{Name: p.Name, Notes: p.Notes, MultiProcess: p.MultiProcess, WhyNot: p.WhyNot, Problem: p.Unavailable}
		if ps.Problem == "" && p.InMemory && s.server == nil && s.socket == "" {
			srv, err := startRedis()
			if err != nil {
				ps.Problem = err.Error()
				s.socket = "-" // tried once
			} else {
				s.server, s.socket = srv, srv.Socket
				s.rep.Machine.Redis = srv.Version
			}
		}
		if p.InMemory && s.socket == "-" && ps.Problem == "" {
			ps.Problem = "redis-server could not be started"
		}
		if ps.Problem == "" {
			if err := s.runPeer(p); err != nil {
				ps.Problem = err.Error()
			} else {
				ps.Ran = true
			}
		}
		if ps.Problem != "" {
			fmt.Fprintf(os.Stderr, "== %s: SKIPPED or stopped: %s\n", p.Name, ps.Problem)
		}
		s.rep.Peers = append(s.rep.Peers, ps)
	}
	if len(durable) > 0 {
		s.runDurable(durable)
		slices.SortStableFunc(s.rep.Peers, func(a, b PeerStatus) int { return peers[a.Name].Order - peers[b.Name].Order })
	}
	// Clean up before printing: a closed stdout (a pipe into head) ends
	// the process on the first write.
	cleanup()
	s.server = nil
	s.rep.Elapsed = time.Since(start)

	md := markdown(s.rep)
	fmt.Print(md)
	dir := filepath.Join(out, set.mode)
	if err := writeOutputs(dir, s.rep, md); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s/{results.md,results.json,workloads.svg,scaling.svg} in %v\n", dir, s.rep.Elapsed.Round(time.Second))
	return 0
}

func writeOutputs(dir string, rep *Report, md string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"results.md":    []byte(md),
		"results.json":  append(js, '\n'),
		"workloads.svg": []byte(workloadChart(rep)),
		"scaling.svg":   []byte(scalingChart(rep)),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func machine(tmp string) Machine {
	m := Machine{GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, CPUs: runtime.NumCPU(), TempDir: tmp}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	m.Kernel = kernelVersion()
	return m
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
