package main

import (
	"encoding/binary"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mapkv/mapkv/internal/testproc"
)

func TestReadCounter(t *testing.T) {
	t.Parallel()
	le := func(n int64) string { return string(binary.LittleEndian.AppendUint64(nil, uint64(n))) }
	for v, want := range map[string]int64{
		"0": 0, "42": 42, "-7": -7, "9223372036854775807": 1<<63 - 1,
		le(6): 6, le(-3): -3, "12345678": 12345678, // 8 digits: text
	} {
		if got, ok := readCounter([]byte(v)); !ok || got != want {
			t.Errorf("readCounter(%q) = %d, %v; want %d", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "x", "+1", " 1", "1\n", "007", "-0", "-", "1.5", "99999999999999999999", "\x01\x02"} {
		if n, ok := readCounter([]byte(v)); ok {
			t.Errorf("readCounter(%q) = %d, want not a counter", v, n)
		}
	}
}

// Redis's flow: put a number, incr it, get the number. Text stays text;
// the library's 8-byte form stays 8 bytes; get --int reads both.
func TestIncrDecimal(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"k": "5", "neg": "-1"})
	if r := kvtool(t, nil, "incr", path, "k").want(t, exitOK); r.stdout != "6\n" {
		t.Errorf("incr of text 5: %q", r.stdout)
	}
	if r := kvtool(t, nil, "get", path, "k").want(t, exitOK); r.stdout != "6" {
		t.Errorf("get after incr of a text counter: %q", r.stdout)
	}
	if r := kvtool(t, nil, "incr", path, "neg", "-10").want(t, exitOK); r.stdout != "-11\n" {
		t.Errorf("incr of text -1 by -10: %q", r.stdout)
	}
	kvtool(t, nil, "incr", path, "bin", "7").want(t, exitOK)
	if r := kvtool(t, nil, "get", path, "bin").want(t, exitOK); len(r.stdout) != 8 {
		t.Errorf("a new counter holds %q, want kv.Add's 8 bytes", r.stdout)
	}
	for key, want := range map[string]string{"k": "6\n", "neg": "-11\n", "bin": "7\n"} {
		if r := kvtool(t, nil, "get", "--int", path, key).want(t, exitOK); r.stdout != want {
			t.Errorf("get --int %s: %q, want %q", key, r.stdout, want)
		}
	}
	if r := kvtool(t, nil, "get", "--int", "--json", path, "bin").want(t, exitOK); r.stdout != `{"key":"bin","int":7}`+"\n" {
		t.Errorf("get --int --json: %q", r.stdout)
	}
	if r := kvtool(t, nil, "incr", "--json", path, "k", "4").want(t, exitOK); r.stdout != `{"key":"k","int":10}`+"\n" {
		t.Errorf("incr --json: %q", r.stdout)
	}
	kvtool(t, nil, "put", path, "text", "hello").want(t, exitOK)
	kvtool(t, nil, "get", "--int", path, "text").want(t, exitError).oneLine(t, "not a counter", "5 bytes")
}

// Concurrent incrs of a decimal counter never lose a step either: each is a
// compare-and-swap that retries.
func TestIncrDecimalConcurrent(t *testing.T) {
	t.Parallel()
	const procs, each = 4, 15
	path := filepath.Join(t.TempDir(), "db")
	kvtool(t, nil, "put", path, "c", "100").want(t, exitOK)
	var wg sync.WaitGroup
	for range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				cmd := exec.Command(kvtoolPath, "incr", path, "c")
				cmd.Env = testproc.Env()
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("kvtool incr: %v: %s", err, out)
					return
				}
			}
		}()
	}
	wg.Wait()
	if r := kvtool(t, nil, "get", path, "c").want(t, exitOK); r.stdout != fmt.Sprint(100+procs*each) {
		t.Errorf("c = %q after %d incrs of 100", r.stdout, procs*each)
	}
}

// incr prints after it commits: when printing fails the message says the
// addition is done, and it is.
func TestIncrOutputLost(t *testing.T) {
	t.Parallel()
	path := newDB(t, nil)
	r := kvtoolTo(t, "/dev/full", "incr", path, "c")
	r.want(t, exitError).oneLine(t, "the counter is now 1", "do not retry")
	if r := kvtool(t, nil, "get", "--int", path, "c").want(t, exitOK); r.stdout != "1\n" {
		t.Errorf("after the lost output: %q", r.stdout)
	}
}
