package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mapkv/mapkv/internal/kvtest"
	"github.com/mapkv/mapkv/kv"
)

func TestPut(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "new.db")
	r := kvtool(t, nil, "put", path, "k", "v1").want(t, exitOK)
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("put printed %q, %q", r.stdout, r.stderr)
	}
	kvtool(t, nil, "put", path, "k", "v2").want(t, exitOK)
	kvtool(t, nil, "put", path, "empty", "").want(t, exitOK)
	sameContents(t, contents(t, path), map[string]string{"k": "v2", "empty": ""})
}

// Every byte value survives put - and get, in the value and in the key
// (a command-line argument cannot hold a zero byte).
func TestPutBinaryStdin(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bin.db")
	var value, key []byte
	for b := range 256 {
		value = append(value, byte(b))
		if b != 0 {
			key = append(key, byte(b))
		}
	}
	kvtool(t, value, "put", path, string(key), "-").want(t, exitOK)
	if r := kvtool(t, nil, "get", path, string(key)).want(t, exitOK); r.stdout != string(value) {
		t.Errorf("get returned %q, want %q", r.stdout, value)
	}
	// Large, through stdin: a value spanning many pages.
	big := bytes.Repeat(value, 1000)
	kvtool(t, big, "put", path, "big", "-").want(t, exitOK)
	if r := kvtool(t, nil, "get", path, "big").want(t, exitOK); r.stdout != string(big) {
		t.Errorf("get big returned %d bytes, want %d", len(r.stdout), len(big))
	}
}

func TestPutUsage(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "db")
	kvtool(t, nil, "put", path, "k").usage(t, "put")
	kvtool(t, nil, "put", path, "", "v").usage(t, "put")
	kvtool(t, nil, "put", path, "k", "v", "extra").usage(t, "put")
}

func TestPutFull(t *testing.T) {
	t.Parallel()
	db, path := kvtest.OpenTemp(t, &kv.Options{MaxSize: 256 << 10})
	db.Close() // kvtool fills it
	value := bytes.Repeat([]byte("x"), 6000)
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatalf("%d puts of %d bytes fit in a file of at most 256 KiB", i, len(value))
		}
		r := kvtool(t, value, "put", path, strings.Repeat("k", i+1), "-")
		if r.code == exitOK {
			continue
		}
		r.want(t, exitError).oneLine(t, "kvtool: put: database is full (max size 256 KiB): delete keys, sweep expired ones, or snapshot --compact")
		break
	}
}

func TestPutTooLarge(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "db")
	key := strings.Repeat("k", kv.MaxKeySize+1)
	kvtool(t, nil, "put", path, key, "v").want(t, exitError).oneLine(t, "too large", "65535")
}

func TestPutLocked(t *testing.T) {
	t.Parallel()
	path := newDB(t, nil)
	db, err := kv.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Hold the writer lock in an Update until kvtool has given up.
	holding, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- db.Update(func(tx *kv.Tx) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	r := kvtool(t, nil, "put", path, "k", "v", "--lock-timeout", "50ms")
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r.want(t, exitTempFail).oneLine(t, fmt.Sprintf("writer lock is held by process %d", os.Getpid()), "--lock-timeout (now 50ms)")
	if _, err := db.Get([]byte("k")); err == nil {
		t.Error("the failed put stored its key")
	}
}

func TestPutTTL(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "db")
	start := time.Now()
	kvtool(t, nil, "put", path, "k", "v", "--ttl", "200ms").want(t, exitOK)
	stored := time.Now()
	r := kvtool(t, nil, "get", path, "k")
	if r.code == exitFalse && time.Since(start) >= 200*time.Millisecond {
		t.Skipf("put and get took %v, longer than the TTL", time.Since(start))
	}
	if r.want(t, exitOK); r.stdout != "v" {
		t.Errorf("get before expiry: %q", r.stdout)
	}
	time.Sleep(300*time.Millisecond - time.Since(stored))
	kvtool(t, nil, "get", path, "k").want(t, exitFalse)
	kvtool(t, nil, "ttl", path, "k").want(t, exitFalse)

	// The flag goes anywhere; 0 is no expiry; a plain put removes one.
	kvtool(t, nil, "put", "--ttl", "1h", path, "k", "v").want(t, exitOK)
	if d := ttlOf(t, path, "k"); d <= 0 || d > time.Hour {
		t.Errorf("TTL after --ttl 1h: %v", d)
	}
	kvtool(t, nil, "put", path, "k", "v").want(t, exitOK)
	kvtool(t, nil, "put", path, "zero", "v", "--ttl", "0").want(t, exitOK)
	for _, k := range []string{"k", "zero"} {
		if d := ttlOf(t, path, k); d != kv.NoTTL {
			t.Errorf("TTL of %s: %v, want none", k, d)
		}
	}
}

func TestPutTTLUsage(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "db")
	for _, d := range []string{"soon", "5", "1 h", "", "-1s", "1ns", "999us"} {
		r := kvtool(t, nil, "put", path, "k", "v", "--ttl", d)
		r.usage(t, "put")
		if !strings.Contains(r.stderr, "-ttl") {
			t.Errorf("--ttl %q: stderr does not name the flag: %q", d, r.stderr)
		}
	}
	kvtool(t, nil, "put", path, "k", "v", "--ttl").usage(t, "put")
	// The hints: a unit for a bare number, and why a negative TTL is refused.
	if r := kvtool(t, nil, "put", path, "k", "v", "--ttl", "5"); !strings.Contains(r.stderr, "add a unit to 5: 5s") {
		t.Errorf("--ttl 5: %q", r.stderr)
	}
	if r := kvtool(t, nil, "put", path, "k", "v", "--ttl", "-5s"); !strings.Contains(r.stderr, "must not be negative") {
		t.Errorf("--ttl -5s: %q", r.stderr)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a put with a bad --ttl created the file: %v", err)
	}
}

// ttlOf returns kv's TTL of key in the database at path, opened read-only.
func ttlOf(t *testing.T, path, key string) time.Duration {
	t.Helper()
	db, err := kv.Open(path, &kv.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d, err := db.TTL([]byte(key))
	if err != nil {
		t.Fatalf("TTL(%q): %v", key, err)
	}
	return d
}
