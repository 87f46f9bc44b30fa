package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// The driver re-executes itself as a reader process: `bench -reader` with
// the store, its directory and the key count. The child prints "READY"
// once its store is open, reads for the given time, and prints one line
// "RESULT {json}".

const (
	readyLine    = "READY"
	resultPrefix = "RESULT "
	// versions is how many values a key may hold by the time readers run:
	// version 0 from the load, 1 and 2 from overwrite and mix, 1..3 from
	// the concurrent writer. A reader that sees anything else saw a torn
	// or foreign value.
	versions = 4
)

type childFlags struct {
	store  string
	dir    string
	socket string
	keys   int64
	dur    time.Duration
}

func (c *childFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.store, "reader-store", "", "internal: store of the reader process")
	fs.StringVar(&c.dir, "reader-dir", "", "internal: directory of the reader process's store")
	fs.StringVar(&c.socket, "reader-socket", "", "internal: Redis socket of the reader process")
	fs.Int64Var(&c.keys, "reader-keys", 0, "internal: keys loaded")
	fs.DurationVar(&c.dur, "reader-dur", 0, "internal: how long the reader reads")
}

// childMain is the reader process. Its exit status is 0 whenever it could
// print a RESULT line; errors travel inside it.
func childMain(c childFlags) int {
	rr := ReaderRun{Store: c.store}
	emit := func() int {
		b, _ := json.Marshal(rr)
		fmt.Printf("%s%s\n", resultPrefix, b)
		return 0
	}
	p := peers[c.store]
	if p == nil || p.Open == nil {
		rr.Err = "unknown store " + c.store
		return emit()
	}
	st, err := p.Open(Config{Dir: c.dir, ReadOnly: true, Socket: c.socket})
	if err != nil {
		rr.Err = "reader open: " + err.Error()
		return emit()
	}
	fmt.Println(readyLine)
	vals := newValues(seedValues)
	rng := newRand(seedReader)
	var kb [keySize]byte
	buf := make([]byte, 0, 256)
	ul := uint64(c.keys)
	rr.Reader = measure(c.store, "reader-get", 1<<62, c.dur, func(i int64) error {
		k := rng.Uint64N(ul)
		v, found, err := st.Get(buf[:0], keyFor(kb[:], k))
		if err != nil {
			return err
		}
		if !found {
			rr.Misses++
			return nil
		}
		if i%16 == 0 {
			rr.Checked++
			for ver := uint64(0); ver < versions; ver++ {
				if bytes.Equal(v, vals.at(k, ver)) {
					return nil
				}
			}
			rr.BadValues++
		}
		return nil
	})
	rr.Reader.Wanted = rr.Reader.Ops // time-bound by design, not capped
	if err := st.Close(); err != nil && rr.Err == "" {
		rr.Err = "reader close: " + err.Error()
	}
	rr.Mem, _ = memStatus(0)
	return emit()
}

// readerProcess starts a reader process on the store in dir. With a nil
// writer it reads alone; otherwise this process overwrites random keys
// through writer for as long as the reader reads.
func (s *suite) readerProcess(p *Peer, dir string, loaded int64, writer Store) ReaderRun {
	rr := ReaderRun{Store: p.Name, Concurrent: writer != nil}
	exe, err := os.Executable()
	if err != nil {
		rr.Err = err.Error()
		return rr
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.set.readerDur+2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe,
		"-reader-store", p.Name, "-reader-dir", dir, "-reader-socket", s.socket,
		"-reader-keys", strconv.FormatInt(loaded, 10), "-reader-dur", s.set.readerDur.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		rr.Err = err.Error()
		return rr
	}
	if err := cmd.Start(); err != nil {
		rr.Err = err.Error()
		return rr
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, out)
	}()
	var result string
	wait := func(want func(string) bool) bool {
		for line := range lines {
			if strings.HasPrefix(line, resultPrefix) {
				result = line
			}
			if want(line) {
				return true
			}
		}
		return false
	}
	if wait(func(l string) bool { return l == readyLine || strings.HasPrefix(l, resultPrefix) }) &&
		result == "" && writer != nil {
		var kb [keySize]byte
		rng := newRand(seedWriter)
		ul := uint64(loaded)
		rr.Writer = measure(p.Name, "writer-put", 1<<62, s.set.readerDur, func(i int64) error {
			k := rng.Uint64N(ul)
			return writer.Put(keyFor(kb[:], k), s.vals.at(k, 1+rng.Uint64N(versions-1)))
		})
		rr.Writer.Wanted = rr.Writer.Ops
	}
	if result == "" {
		wait(func(l string) bool { return strings.HasPrefix(l, resultPrefix) })
	}
	for range lines {
	}
	werr := cmd.Wait()
	if result == "" {
		rr.Err = fmt.Sprintf("reader process gave no result: %v", werr)
		if ctx.Err() != nil {
			rr.Err = "reader process timed out"
		}
		return rr
	}
	var child ReaderRun
	if err := json.Unmarshal([]byte(strings.TrimPrefix(result, resultPrefix)), &child); err != nil {
		rr.Err = "reader result: " + err.Error()
		return rr
	}
	rr.Reader, rr.Mem, rr.Misses, rr.BadValues, rr.Checked = child.Reader, child.Mem, child.Misses, child.BadValues, child.Checked
	rr.Err = child.Err
	if rr.Err == "" && rr.Reader.Err != "" {
		rr.Err = rr.Reader.Err
	}
	if rr.Err == "" && rr.Writer.Err != "" {
		rr.Err = "writer: " + rr.Writer.Err
	}
	if p.InMemory && s.server != nil {
		rr.ServerMem, _ = memStatus(s.server.Pid())
	}
	what := "alone"
	if writer != nil {
		what = fmt.Sprintf("beside writer (%0.f ns/put)", rr.Writer.NsPerOp)
	}
	s.logf("  %-14s reader process %s: %.0f ns/get, peak RSS %d MiB, misses %d, bad values %d/%d %s",
		p.Name, what, rr.Reader.NsPerOp, rr.Mem.PeakRSS>>20, rr.Misses, rr.BadValues, rr.Checked, rr.Err)
	return rr
}
