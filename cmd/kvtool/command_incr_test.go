package main

import (
	"encoding/binary"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

func TestIncr(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "db")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"incr", path, "c"}, "1\n"},
		{[]string{"incr", path, "c"}, "2\n"},
		{[]string{"incr", path, "c", "-5"}, "-3\n"},
	} {
		if r := kvtool(t, nil, tt.args...).want(t, exitOK); r.stdout != tt.want || r.stderr != "" {
			t.Errorf("kvtool %q: stdout %q, stderr %q; want %q", tt.args, r.stdout, r.stderr, tt.want)
		}
	}
	want := binary.LittleEndian.AppendUint64(nil, uint64(1<<64-3)) // -3
	if r := kvtool(t, nil, "get", path, "c").want(t, exitOK); r.stdout != string(want) {
		t.Errorf("get c: % x, want % x", r.stdout, want)
	}
	// Any 8-byte value counts, and the sum wraps as int64 does.
	max := binary.LittleEndian.AppendUint64(nil, 1<<63-1)
	kvtool(t, max, "put", path, "m", "-").want(t, exitOK)
	if r := kvtool(t, nil, "incr", path, "m", "+1").want(t, exitOK); r.stdout != "-9223372036854775808\n" {
		t.Errorf("incr of MaxInt64: %q", r.stdout)
	}
}

func TestIncrNotCounter(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"text": "hello", "empty": ""})
	for _, k := range []string{"text", "empty"} {
		r := kvtool(t, nil, "incr", path, k).want(t, exitError)
		r.oneLine(t, "kvtool: incr: ", fmt.Sprintf("the value of key %s is not a counter", k), "bytes", "decimal text")
		if r.stdout != "" {
			t.Errorf("incr %s printed %q", k, r.stdout)
		}
	}
	sameContents(t, contents(t, path), map[string]string{"text": "hello", "empty": ""})
}

func TestIncrTTL(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"old": string(make([]byte, 8))})
	// A key incr creates gets the TTL; one that exists keeps its own.
	kvtool(t, nil, "incr", path, "new", "--ttl", "1h").want(t, exitOK)
	if d := ttlOf(t, path, "new"); d <= 0 || d > time.Hour {
		t.Errorf("TTL of new: %v", d)
	}
	kvtool(t, nil, "incr", path, "--ttl=1h", "old", "2").want(t, exitOK)
	if d := ttlOf(t, path, "old"); d != kv.NoTTL {
		t.Errorf("TTL of old: %v, want none", d)
	}
	kvtool(t, nil, "incr", path, "new", "--ttl", "1m").want(t, exitOK)
	if d := ttlOf(t, path, "new"); d <= time.Minute {
		t.Errorf("incr --ttl 1m of an existing key changed its TTL to %v", d)
	}
}

func TestIncrUsage(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "db")
	kvtool(t, nil, "incr", path).usage(t, "incr")
	kvtool(t, nil, "incr", path, "").usage(t, "incr")
	kvtool(t, nil, "incr", path, "c", "1", "2").usage(t, "incr")
	for _, n := range []string{"x", "1.5", "", "99999999999999999999", "--", "0x10"} {
		kvtool(t, nil, "incr", path, "c", "--", n).usage(t, "incr")
	}
	kvtool(t, nil, "incr", path, "c", "--ttl", "soon").usage(t, "incr")
}

// Concurrent incr processes never lose a step: each runs its own
// read-add-write under the writer lock.
func TestIncrConcurrent(t *testing.T) {
	t.Parallel()
	const procs, each = 4, 25
	path := filepath.Join(t.TempDir(), "db")
	var wg sync.WaitGroup
	errs := make(chan error, procs)
	for range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				cmd := exec.Command(kvtoolPath, "incr", path, "c")
				cmd.Env = testproc.Env()
				if out, err := cmd.CombinedOutput(); err != nil {
					errs <- fmt.Errorf("kvtool incr: %v: %s", err, out)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	db, err := kv.Open(path, &kv.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := db.Get([]byte("c"))
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 8 {
		t.Fatalf("c holds %d bytes: % x", len(v), v)
	}
	if n := int64(binary.LittleEndian.Uint64(v)); n != procs*each {
		t.Errorf("c = %d after %d incrs", n, procs*each)
	}
}
