package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mapkv/mapkv/kv"
)

// The tests of the commands that read or write a key under a condition:
// exists, add, replace, cas, mget, mset, expire, persist, clear, sweep.

func TestExists(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"a": "1", "b": ""})
	kvtool(t, nil, "exists", path, "a").want(t, exitOK)
	kvtool(t, nil, "exists", path, "a", "b").want(t, exitOK)
	if r := kvtool(t, nil, "exists", path, "a", "nope").want(t, exitFalse); r.stdout != "" || r.stderr != "" {
		t.Errorf("exists of an absent key printed %q, %q; want nothing, as test -e", r.stdout, r.stderr)
	}
	if r := kvtool(t, nil, "exists", path, "a", "nope", "b", "--count").want(t, exitOK); r.stdout != "2\n" {
		t.Errorf("exists --count: %q", r.stdout)
	}
	if r := kvtool(t, nil, "exists", path, "nope", "--count", "--json").want(t, exitOK); r.stdout != `{"count":0}`+"\n" {
		t.Errorf("exists --count --json: %q", r.stdout)
	}
	kvtool(t, nil, "exists", path).usage(t, "exists")
	kvtool(t, nil, "exists", filepath.Join(t.TempDir(), "missing"), "a").want(t, exitError).oneLine(t, "does not exist")
}

func TestAddReplace(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "db")
	kvtool(t, nil, "add", path, "lock", "me", "--ttl", "1h").want(t, exitOK) // creates the file
	kvtool(t, nil, "add", path, "lock", "you").want(t, exitFalse).oneLine(t, "key lock is present: not stored")
	if d := ttlOf(t, path, "lock"); d <= 0 || d > time.Hour {
		t.Errorf("TTL after add --ttl 1h: %v", d)
	}
	kvtool(t, nil, "replace", path, "nope", "x").want(t, exitFalse).oneLine(t, "key nope is absent: not stored")
	kvtool(t, []byte("from stdin"), "replace", path, "lock", "-").want(t, exitOK)
	sameContents(t, contents(t, path), map[string]string{"lock": "from stdin"})
	if d := ttlOf(t, path, "lock"); d != kv.NoTTL {
		t.Errorf("TTL after replace without --ttl: %v, want none", d)
	}
	kvtool(t, nil, "replace", filepath.Join(t.TempDir(), "missing"), "k", "v").want(t, exitError).oneLine(t, "does not exist")
	kvtool(t, nil, "add", path, "k").usage(t, "add")
	kvtool(t, nil, "add", path, "k", "v", "--ttl", "-1s").usage(t, "add")
}

func TestCas(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"k": "old", "e": ""})
	kvtool(t, nil, "cas", path, "k", "wrong", "new").want(t, exitFalse).oneLine(t, "does not hold OLD")
	kvtool(t, nil, "cas", path, "k", "old", "new").want(t, exitOK)
	kvtool(t, nil, "cas", path, "k", "old", "newer").want(t, exitFalse)
	kvtool(t, nil, "cas", path, "absent", "", "x").want(t, exitFalse) // "" is a present empty value
	kvtool(t, nil, "cas", path, "e", "", "filled").want(t, exitOK)
	kvtool(t, nil, "cas", "-q", path, "k", "new", `"\xff"`).want(t, exitOK)
	sameContents(t, contents(t, path), map[string]string{"k": "\xff", "e": "filled"})
	kvtool(t, nil, "cas", path, "k", "x").usage(t, "cas")
}

func TestMgetMset(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "db")
	kvtool(t, []byte("bin\x00ary"), "mset", path, "a", "1", "b", "-", "c", "two\nlines", "--ttl", "1h").want(t, exitOK)
	if d := ttlOf(t, path, "c"); d <= 0 {
		t.Errorf("mset --ttl: TTL of c %v", d)
	}
	r := kvtool(t, nil, "mget", path, "a", "nope", "b", "c").want(t, exitFalse)
	if want := "1\n\n\"bin\\x00ary\"\n\"two\\nlines\"\n"; r.stdout != want {
		t.Errorf("mget: %q, want %q", r.stdout, want)
	}
	r.oneLine(t, "1 key not found", "nope")
	kvtool(t, nil, "mget", path, "a", "b").want(t, exitOK)
	r = kvtool(t, nil, "mget", "--json", path, "a", "nope", "b").want(t, exitFalse)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"key":"a","value":"1","ttl_ms":`) {
		t.Errorf("mget --json: %q", r.stdout)
	}
	// What mget --json prints, load reads back.
	other := filepath.Join(t.TempDir(), "copy")
	kvtool(t, []byte(r.stdout), "load", other).want(t, exitOK)
	sameContents(t, contents(t, other), map[string]string{"a": "1", "b": "bin\x00ary"})
	kvtool(t, nil, "mset", path, "a").usage(t, "mset")
	kvtool(t, nil, "mset", path, "a", "1", "b").usage(t, "mset")
	kvtool(t, nil, "mset", path, "a", "-", "b", "-").usage(t, "mset")
	kvtool(t, nil, "mget", path).usage(t, "mget")
}

func TestExpirePersist(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"k": "v"})
	kvtool(t, nil, "expire", path, "k", "2d").want(t, exitOK)
	if d := ttlOf(t, path, "k"); d <= 47*time.Hour || d > 48*time.Hour {
		t.Errorf("TTL after expire 2d: %v", d)
	}
	kvtool(t, nil, "persist", path, "k").want(t, exitOK)
	if d := ttlOf(t, path, "k"); d != kv.NoTTL {
		t.Errorf("TTL after persist: %v", d)
	}
	kvtool(t, nil, "expire", path, "nope", "1h").want(t, exitFalse).oneLine(t, "nope", "not found")
	kvtool(t, nil, "persist", path, "nope").want(t, exitFalse)
	for _, d := range []string{"0", "-1s", "5", "1ns"} {
		kvtool(t, nil, "expire", path, "k", "--", d).usage(t, "expire")
	}
	kvtool(t, nil, "expire", filepath.Join(t.TempDir(), "missing"), "k", "1h").want(t, exitError).oneLine(t, "does not exist")
	sameContents(t, contents(t, path), map[string]string{"k": "v"})
}

func TestClearSweep(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"a": "1", "b": "2"})
	db := openDB(t, path)
	for _, k := range []string{"x", "y", "z"} {
		if err := db.PutTTL([]byte(k), []byte("v"), time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Millisecond)
	if s := statOf(t, path); s.Keys != 2 || s.ExpiredKeys != 3 {
		t.Errorf("stat before sweep: %d keys, %d expired; want 2 and 3", s.Keys, s.ExpiredKeys)
	}
	if r := kvtool(t, nil, "sweep", path, "--max", "1").want(t, exitOK); r.stdout != "1\n" {
		t.Errorf("sweep --max 1: %q", r.stdout)
	}
	if r := kvtool(t, nil, "sweep", path, "--json").want(t, exitOK); r.stdout != `{"removed":2}`+"\n" {
		t.Errorf("sweep --json: %q", r.stdout)
	}
	s := statOf(t, path)
	if s.Keys != 2 || s.ExpiredKeys != 0 || s.Expired != 3 {
		t.Errorf("stat after sweep: %+v", s)
	}
	kvtool(t, nil, "clear", path).want(t, exitOK)
	sameContents(t, contents(t, path), map[string]string{})
	kvtool(t, nil, "clear", filepath.Join(t.TempDir(), "missing")).want(t, exitError).oneLine(t, "does not exist")
	kvtool(t, nil, "sweep", path, "--max", "-1").usage(t, "sweep")
}

func TestTTLFormats(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"forever": "v"})
	db := openDB(t, path)
	if err := db.PutTTL([]byte("soon"), []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if r := kvtool(t, nil, "ttl", path, "forever", "--ms").want(t, exitOK); r.stdout != "-1\n" {
		t.Errorf("ttl --ms of a permanent key: %q", r.stdout)
	}
	r := kvtool(t, nil, "ttl", path, "soon", "--ms").want(t, exitOK)
	var ms int64
	if _, err := fmtSscan(r.stdout, &ms); err != nil || ms <= 3599000 || ms > 3600000 {
		t.Errorf("ttl --ms: %q", r.stdout)
	}
	var j struct {
		Key   string `json:"key"`
		TTLms *int64 `json:"ttl_ms"`
	}
	r = kvtool(t, nil, "ttl", path, "soon", "--json").want(t, exitOK)
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil || j.Key != "soon" || j.TTLms == nil || *j.TTLms <= 3599000 {
		t.Errorf("ttl --json: %q", r.stdout)
	}
	if r := kvtool(t, nil, "ttl", path, "forever", "--json").want(t, exitOK); r.stdout != `{"key":"forever","ttl_ms":null}`+"\n" {
		t.Errorf("ttl --json of a permanent key: %q", r.stdout)
	}
}

func TestGetJSON(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"k": "v", "bin": "\xff"})
	db := openDB(t, path)
	if err := db.PutTTL([]byte("t"), []byte("x"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if r := kvtool(t, nil, "get", "--json", path, "k").want(t, exitOK); r.stdout != `{"key":"k","value":"v"}`+"\n" {
		t.Errorf("get --json: %q", r.stdout)
	}
	if r := kvtool(t, nil, "get", "--json", path, "bin").want(t, exitOK); r.stdout != `{"key":"bin","value64":"/w=="}`+"\n" {
		t.Errorf("get --json of a binary value: %q", r.stdout)
	}
	r := kvtool(t, nil, "get", "--json", path, "t").want(t, exitOK)
	if !strings.HasPrefix(r.stdout, `{"key":"t","value":"x","ttl_ms":`) {
		t.Errorf("get --json of an expiring key: %q", r.stdout)
	}
	kvtool(t, nil, "get", "--json", path, "nope").want(t, exitFalse)
}
