package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

func TestCreate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cache := filepath.Join(dir, "app.cache")
	kvtool(t, nil, "create", cache, "--max-size", "256MiB", "--evict", "--initial-size", "64k", "--mode", "0644").want(t, exitOK)
	fi, err := os.Stat(cache)
	if err != nil {
		t.Fatal(err)
	}
	// A cache is made with its whole index (docs/cache.md, "The space"), so it
	// starts larger than --initial-size asks: for 256 MiB a table of 32 MiB
	// (1/8), the small FIFO's ring of 9 MiB (9/256) and the ghost of 8 MiB
	// (2 bytes per slot), then its header and log.
	if fi.Mode().Perm() != 0o644 || fi.Size() < 49<<20 || fi.Size() > 50<<20 {
		t.Errorf("created %v, %d bytes; want -rw-r--r--, 49 MiB of index and its header and log", fi.Mode(), fi.Size())
	}
	s := statOf(t, cache)
	if s.Mode != "cache" || s.MaxSize != 256<<20 || s.Keys != 0 {
		t.Errorf("stat of the new cache: %+v", s)
	}
	if r := kvtool(t, nil, "stat", cache).want(t, exitOK); !strings.Contains(r.stdout, "mode:            cache") || !strings.Contains(r.stdout, "256 MiB") {
		t.Errorf("stat:\n%s", r.stdout)
	}
	// The file works as a cache, through the library too.
	kvtool(t, nil, "put", cache, "k", "v").want(t, exitOK)
	db, err := kv.Open(cache, &kv.Options{MaxSize: 256 << 20, Evict: true})
	if err != nil {
		t.Fatalf("opening the cache as one: %v", err)
	}
	db.Close()

	store := filepath.Join(dir, "store.db")
	kvtool(t, nil, "create", store, "--max-size", "1M").want(t, exitOK)
	if s := statOf(t, store); s.Mode != "store" || s.MaxSize != 1<<20 {
		t.Errorf("stat of the new bounded store: %+v", s)
	}
	plain := filepath.Join(dir, "plain.db")
	kvtool(t, nil, "create", plain).want(t, exitOK)
	if fi, err := os.Stat(plain); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("default mode: %v, %v", fi, err)
	}
	if s := statOf(t, plain); s.MaxSize != 0 || s.Mode != "store" {
		t.Errorf("stat of an unbounded file: %+v", s)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("create left files behind: %v", entries)
	}
}

// statOf returns stat --json of path.
func statOf(t *testing.T, path string) statJSON {
	t.Helper()
	r := kvtool(t, nil, "stat", "--json", path).want(t, exitOK)
	var s statJSON
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	return s
}

func TestCreateExisting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	kvtool(t, nil, "create", empty, "--max-size", "1M").want(t, exitError).oneLine(t, "already exists", "create makes only new files")
	if fi, err := os.Stat(empty); err != nil || fi.Size() != 0 {
		t.Errorf("create touched an existing file: %v, %v", fi, err)
	}
	db := newDB(t, map[string]string{"k": "v"})
	kvtool(t, nil, "create", db, "--max-size", "1M", "--evict").want(t, exitError).oneLine(t, "already exists")
	sameContents(t, contents(t, db), map[string]string{"k": "v"})
	kvtool(t, nil, "create", filepath.Join(dir, "no", "such", "dir")).want(t, exitError).oneLine(t, "its directory", "does not exist")
}

// Of several creates of one file at once, exactly one succeeds.
func TestCreateRace(t *testing.T) {
	t.Parallel()
	for round := range 3 {
		path := filepath.Join(t.TempDir(), "race.db")
		var wg sync.WaitGroup
		codes := make([]int, 4)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.Command(kvtoolPath, "create", path, "--max-size", "1M", "--evict")
				cmd.Env = testproc.Env()
				cmd.Run()
				codes[i] = cmd.ProcessState.ExitCode()
			}()
		}
		wg.Wait()
		ok := 0
		for _, c := range codes {
			if c == exitOK {
				ok++
			} else if c != exitError {
				t.Errorf("round %d: exit status %d", round, c)
			}
		}
		if ok != 1 {
			t.Errorf("round %d: %d creates succeeded (%v), want 1", round, ok, codes)
		}
		kvtool(t, nil, "check", path).want(t, exitOK)
	}
}

func TestCreateUsage(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "db")
	for _, args := range [][]string{
		{},
		{path, "--evict"},
		{path, "--max-size", "lots"},
		{path, "--max-size", "1k"},
		{path, "--max-size", "1M", "--initial-size", "2M"},
		{path, "--mode", "0999"},
		{path, "--mode", "rw"},
		{path, "extra"},
	} {
		kvtool(t, nil, append([]string{"create"}, args...)...).usage(t, "create")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a bad create made the file: %v", err)
	}
}
