package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestGet(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"k": "v", "nl": "line\n"})
	if r := kvtool(t, nil, "get", path, "k").want(t, exitOK); r.stdout != "v" || r.stderr != "" {
		t.Errorf("get k: stdout %q, stderr %q; want %q and nothing", r.stdout, r.stderr, "v")
	}
	// Not a terminal: the value as it is, no newline added or removed.
	if r := kvtool(t, nil, "get", path, "nl").want(t, exitOK); r.stdout != "line\n" {
		t.Errorf("get nl: %q", r.stdout)
	}
}

func TestGetMissingKey(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"k": "v"})
	r := kvtool(t, nil, "get", path, "nope").want(t, exitFalse)
	if r.stdout != "" {
		t.Errorf("stdout %q, want nothing", r.stdout)
	}
	r.oneLine(t, "nope", "not found")
}

func TestGetMissingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "missing.db")
	kvtool(t, nil, "get", path, "k").want(t, exitError).oneLine(t, "does not exist")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("get created %s: %v", path, err)
	}
}

func TestGetUsage(t *testing.T) {
	t.Parallel()
	path := newDB(t, nil)
	kvtool(t, nil, "get", path).usage(t, "get")
	kvtool(t, nil, "get").usage(t, "get")
	kvtool(t, nil, "get", path, "").usage(t, "get")
}

// A user who may only read the file can get from it.
func TestGetReadOnlyFile(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"k": "v"})
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	if r := kvtool(t, nil, "get", path, "k").want(t, exitOK); r.stdout != "v" {
		t.Errorf("get: %q", r.stdout)
	}
	kvtool(t, nil, "list", path).want(t, exitOK)
	kvtool(t, nil, "stat", path).want(t, exitOK)
	kvtool(t, nil, "dump", path).want(t, exitOK)
	kvtool(t, nil, "check", path).want(t, exitOK)
	if os.Geteuid() != 0 { // root may write anyway
		kvtool(t, nil, "put", path, "k", "w").want(t, exitError).oneLine(t, "no permission to write")
	}
}

func TestGetDirectory(t *testing.T) {
	t.Parallel()
	kvtool(t, nil, "get", t.TempDir(), "k").want(t, exitError).oneLine(t)
}
