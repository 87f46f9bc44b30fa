package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mapkv/mapkv/kv"
)

func TestTTL(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"forever": "v"})
	db, err := kv.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutTTL([]byte("hour"), []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	db.Close()

	if r := kvtool(t, nil, "ttl", path, "forever").want(t, exitOK); r.stdout != "none\n" {
		t.Errorf("ttl forever: %q, want none", r.stdout)
	}
	r := kvtool(t, nil, "ttl", path, "hour").want(t, exitOK)
	d, err := time.ParseDuration(strings.TrimSuffix(r.stdout, "\n"))
	if err != nil || !strings.HasSuffix(r.stdout, "\n") {
		t.Fatalf("ttl hour printed %q: %v", r.stdout, err)
	}
	if d <= time.Hour-time.Minute || d > time.Hour || d%time.Millisecond != 0 {
		t.Errorf("ttl hour: %v, want a little under 1h, in whole milliseconds", d)
	}

	r = kvtool(t, nil, "ttl", path, "nope").want(t, exitFalse)
	if r.stdout != "" {
		t.Errorf("ttl of an absent key printed %q", r.stdout)
	}
	r.oneLine(t, "nope", "not found")
}

func TestTTLUsage(t *testing.T) {
	t.Parallel()
	path := newDB(t, nil)
	kvtool(t, nil, "ttl", path).usage(t, "ttl")
	kvtool(t, nil, "ttl", path, "").usage(t, "ttl")
	kvtool(t, nil, "ttl", path, "k", "extra").usage(t, "ttl")
	kvtool(t, nil, "ttl", filepath.Join(t.TempDir(), "missing.db"), "k").want(t, exitError).oneLine(t, "does not exist")
}
