package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// A writer process of durable-put-4p is the driver re-executed as `bench
// -writer-store NAME ...`, like the reader process (child.go). It opens the
// store, prints READY, waits for a line "GO" on its standard input, so that
// every writer starts at once, writes as durableWriter does, and prints one
// line "RESULT {json}" with its writerResult.

const goLine = "GO"

type writerFlags struct {
	store string
	dir   string
	index int
	keys  int64
	max   int64
	dur   time.Duration
}

func (c *writerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.store, "writer-store", "", "internal: store of the writer process")
	fs.StringVar(&c.dir, "writer-dir", "", "internal: directory of the writer process's store")
	fs.IntVar(&c.index, "writer-index", 0, "internal: which writer (its key sequence)")
	fs.Int64Var(&c.keys, "writer-keys", 0, "internal: keys loaded")
	fs.Int64Var(&c.max, "writer-max", 0, "internal: most writes (0: until -writer-dur)")
	fs.DurationVar(&c.dur, "writer-dur", 0, "internal: how long the writer writes")
}

// writerMain is the writer process. Its exit status is 0 whenever it could
// print a RESULT line; errors travel inside it.
func writerMain(c writerFlags) int {
	var wr writerResult
	emit := func() int {
		b, _ := json.Marshal(wr)
		fmt.Printf("%s%s\n", resultPrefix, b)
		return 0
	}
	p := peers[c.store]
	if p == nil || p.Open == nil {
		wr.Err = "unknown store " + c.store
		return emit()
	}
	st, err := p.Open(Config{Dir: c.dir})
	if err != nil {
		wr.Err = "writer open: " + err.Error()
		return emit()
	}
	fmt.Println(readyLine)
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if strings.TrimSpace(line) != goLine {
		st.Close()
		wr.Err = fmt.Sprintf("writer: no start signal (%q, %v)", line, err)
		return emit()
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	wr = durableWriter(st, newValues(seedValues), c.index, c.keys, c.max, c.dur)
	runtime.ReadMemStats(&m1)
	wr.Mallocs = m1.Mallocs - m0.Mallocs
	if err := st.Close(); err != nil && wr.Err == "" {
		wr.Err = "writer close: " + err.Error()
	}
	return emit()
}

// writerProcesses runs n writer processes on the store, each with its own
// handle, started together once all have opened it. It returns what each
// did and the commits made, counted through a read-only handle of this
// process.
func (s *suite) writerProcesses(ds durableStore, n int) ([]writerResult, int64, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, -1, err
	}
	counter := Store(nil)
	if st, err := s.open(ds.p, ds.dir, true, false); err == nil {
		counter = st
		defer st.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.set.budget+2*time.Minute)
	defer cancel()
	type child struct {
		cmd   *exec.Cmd
		in    io.WriteCloser
		lines chan string
	}
	var kids []child
	defer func() {
		for _, k := range kids {
			k.in.Close()
			for range k.lines {
			}
			k.cmd.Wait()
		}
	}()
	for w := range n {
		cmd := exec.CommandContext(ctx, exe,
			"-writer-store", ds.p.Name, "-writer-dir", ds.dir, "-writer-index", strconv.Itoa(w),
			"-writer-keys", strconv.FormatInt(ds.loaded, 10), "-writer-max", strconv.FormatInt(s.set.durableWrites, 10),
			"-writer-dur", s.set.budget.String())
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, -1, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, -1, err
		}
		if err := cmd.Start(); err != nil {
			return nil, -1, fmt.Errorf("start writer process: %w", err)
		}
		lines := make(chan string)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			sc.Buffer(make([]byte, 64<<10), 64<<20)
			for sc.Scan() {
				lines <- sc.Text()
			}
			io.Copy(io.Discard, out)
		}()
		kids = append(kids, child{cmd, in, lines})
	}
	results := make([]writerResult, n)
	got := make([]bool, n)
	// Every writer opens the store before any starts writing.
	allReady := true
	for w, k := range kids {
		line, ok := <-k.lines
		switch {
		case ok && line == readyLine:
		case ok && strings.HasPrefix(line, resultPrefix):
			got[w] = json.Unmarshal([]byte(strings.TrimPrefix(line, resultPrefix)), &results[w]) == nil
			allReady = false
		default:
			allReady = false
		}
	}
	var before int64 = -1
	if counter != nil {
		before = commitsOf(counter)
	}
	for _, k := range kids {
		if allReady {
			io.WriteString(k.in, goLine+"\n")
		}
		k.in.Close()
	}
	var errs []error
	for w, k := range kids {
		for line := range k.lines {
			if !got[w] && strings.HasPrefix(line, resultPrefix) {
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, resultPrefix)), &results[w]); err != nil {
					errs = append(errs, fmt.Errorf("writer %d result: %w", w, err))
				}
				got[w] = true
			}
		}
		if err := k.cmd.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("writer process %d: %w", w, err))
		}
		if !got[w] {
			errs = append(errs, fmt.Errorf("writer process %d gave no result", w))
		}
	}
	kids = nil
	commits := int64(-1)
	if counter != nil {
		if after := commitsOf(counter); before >= 0 && after >= 0 {
			commits = after - before
		}
	}
	if ctx.Err() != nil {
		errs = append(errs, errors.New("writer processes timed out"))
	}
	return results, commits, errors.Join(errs...)
}
