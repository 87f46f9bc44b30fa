package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mapkv/mapkv/kv"
)

// stat reports kv.Stats as kv counts them: live keys apart from expired
// ones and GetOrCompute leases, and a cache's hits and misses over every
// handle that writes the file; a store has none (null in --json).
func TestStatFields(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "c")
	kvtool(t, nil, "create", path, "--max-size", "1MiB", "--evict").want(t, exitOK)
	db, err := kv.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, k := range []string{"a", "b", "c"} {
		db.Put([]byte(k), []byte("v"))
	}
	db.PutTTL([]byte("gone"), []byte("v"), time.Millisecond)
	for range 30 {
		db.Get([]byte("a"))    // hits
		db.Get([]byte("nope")) // misses
	}
	// A lease: a GetOrCompute whose fn waits.
	computing, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := db.GetOrCompute(context.Background(), []byte("slow"), 0, func() ([]byte, error) {
			close(computing)
			<-release
			return []byte("computed"), nil
		})
		done <- err
	}()
	<-computing
	time.Sleep(5 * time.Millisecond) // "gone" expires
	db.Stats()                       // adds this handle's read counts to the file's

	s := statOf(t, path)
	if s.Mode != "cache" || s.Keys != 3 || s.ExpiredKeys != 1 || s.Leases != 1 {
		t.Errorf("stat --json: mode %q, keys %d, expired %d, leases %d; want cache, 3, 1, 1", s.Mode, s.Keys, s.ExpiredKeys, s.Leases)
	}
	// GetOrCompute's own Get of "slow" missed too: 30 hits, 31 misses.
	if s.Hits == nil || *s.Hits != 30 || s.Misses == nil || *s.Misses != 31 || s.HitRatio == nil || *s.HitRatio != 30.0/61 {
		t.Errorf("stat --json: %s; want 30 hits, 31 misses", kvtool(t, nil, "stat", "--json", path).stdout)
	}
	r := kvtool(t, nil, "stat", path).want(t, exitOK)
	for _, want := range []string{"keys:            3\n", "expired keys:    1 (not yet swept)\n", "leases:          1\n",
		"hits:            30\n", "misses:          31\n", "hit ratio:       0.492\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stat lacks %q:\n%s", want, r.stdout)
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// A store: no hit counters, in any output.
	store := newDB(t, map[string]string{"k": "v"})
	r = kvtool(t, nil, "stat", "--json", store).want(t, exitOK)
	var raw map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatal(err)
	}
	if raw["hits"] != nil || raw["misses"] != nil || raw["hit_ratio"] != nil || raw["mode"] != "store" || raw["leases"] != 0.0 {
		t.Errorf("stat --json of a store: %s", r.stdout)
	}
	if r := kvtool(t, nil, "stat", store).want(t, exitOK); strings.Contains(r.stdout, "hits") {
		t.Errorf("stat of a store shows hits:\n%s", r.stdout)
	}
}

// top's hit ratio and ops/s count a cache's Gets by every process.
func TestTopHitRatio(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "c")
	kvtool(t, nil, "create", path, "--max-size", "1MiB", "--evict").want(t, exitOK)
	db, err := kv.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Put([]byte("a"), []byte("v"))
	stop := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			default:
			}
			db.Get([]byte("a")) // every 64th adds the handle's counts to the file's
		}
	}()
	r := kvtool(t, nil, "top", path, "--count", "2", "--interval", "300ms", "--json").want(t, exitOK)
	close(stop)
	<-stopped
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("top printed %q", r.stdout)
	}
	var l topLine
	if err := json.Unmarshal([]byte(lines[1]), &l); err != nil {
		t.Fatal(err)
	}
	if l.HitRatio == nil || *l.HitRatio != 1 || l.OpsPerS == nil || *l.OpsPerS < 100 {
		t.Errorf("top's second line: %s; want hit_ratio 1 and lookups in ops_per_s", lines[1])
	}
}
