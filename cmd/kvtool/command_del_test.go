package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDel(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"a": "1", "b": "2", "c": "3"})
	r := kvtool(t, nil, "del", path, "a", "c", "absent").want(t, exitOK)
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("del printed %q, %q", r.stdout, r.stderr)
	}
	sameContents(t, contents(t, path), map[string]string{"b": "2"})
	kvtool(t, nil, "del", path, "absent").want(t, exitOK)
	kvtool(t, nil, "get", path, "a").want(t, exitFalse)
}

func TestDelUsage(t *testing.T) {
	t.Parallel()
	path := newDB(t, nil)
	kvtool(t, nil, "del", path).usage(t, "del")
	kvtool(t, nil, "del", path, "").usage(t, "del")
}

func TestDelMissingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "missing.db")
	kvtool(t, nil, "del", path, "k").want(t, exitError).oneLine(t, "does not exist")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("del created %s: %v", path, err)
	}
}
