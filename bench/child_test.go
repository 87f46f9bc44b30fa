package main

import (
	"flag"
	"os"
	"slices"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the reader and the writer
// processes, as the bench binary does: readerProcess and writerProcesses
// re-execute os.Executable().
func TestMain(m *testing.M) {
	if slices.Contains(os.Args, "-reader-store") || slices.Contains(os.Args, "-writer-store") {
		fs := flag.NewFlagSet("child", flag.ExitOnError)
		var c childFlags
		c.register(fs)
		var w writerFlags
		w.register(fs)
		fs.Parse(os.Args[1:])
		if w.store != "" {
			os.Exit(writerMain(w))
		}
		os.Exit(childMain(c))
	}
	os.Exit(m.Run())
}

// TestReaderProcess runs a short reader process, alone and beside a
// writer, on every store that allows two processes.
func TestReaderProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	for _, p := range allPeers() {
		t.Run(p.Name, func(t *testing.T) {
			if p.Unavailable != "" {
				t.Skip(p.Unavailable)
			}
			if p.Baseline {
				t.Skip("a baseline: it has no reads")
			}
			set := quickSettings()
			set.readerDur = 300 * time.Millisecond
			s := &suite{set: set, tmp: t.TempDir(), vals: newValues(seedValues), rep: &Report{}}
			if p.InMemory {
				srv, err := startRedis()
				if err != nil {
					t.Skip(err)
				}
				t.Cleanup(srv.Stop)
				s.server, s.socket = srv, srv.Socket
			}
			dir := t.TempDir()
			loaded, err := s.loadBatched(p, dir, 2000, "", time.Minute)
			if err != nil || loaded != 2000 {
				t.Fatalf("load: %d keys, %v", loaded, err)
			}
			check := func(rr ReaderRun, concurrent bool) {
				t.Helper()
				if rr.Err != "" || rr.Reader.Ops == 0 || rr.Misses != 0 || rr.BadValues != 0 || rr.Checked == 0 {
					t.Fatalf("reader (concurrent=%v): %+v", concurrent, rr)
				}
				if concurrent && rr.Writer.Ops == 0 {
					t.Fatalf("writer did nothing: %+v", rr.Writer)
				}
			}
			check(s.readerProcess(p, dir, loaded, nil), false)
			if !p.MultiProcess {
				return
			}
			w, err := s.open(p, dir, false, false)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			check(s.readerProcess(p, dir, loaded, w), true)
		})
	}
}
