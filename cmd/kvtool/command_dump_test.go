package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// dump | load copies every record byte for byte.
func TestDumpLoad(t *testing.T) {
	t.Parallel()
	pairs := awkwardPairs()
	path := newDB(t, pairs)
	r := kvtool(t, nil, "dump", path).want(t, exitOK)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(pairs) {
		t.Fatalf("dump printed %d lines for %d records", len(lines), len(pairs))
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("not JSON: %q", l)
		}
	}
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	kvtool(t, []byte(r.stdout), "load", copyPath).want(t, exitOK)
	sameContents(t, contents(t, copyPath), pairs)
}

func TestDumpFormat(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"<k>": "a\x00b", "\xff": "", "k": "\xfe\xff"})
	r := kvtool(t, nil, "dump", path).want(t, exitOK)
	for _, want := range []string{
		`{"key":"<k>","value":"a\u0000b"}` + "\n",
		`{"key64":"/w==","value":""}` + "\n",
		`{"key":"k","value64":"/v8="}` + "\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dump lacks %s in\n%s", want, r.stdout)
		}
	}
}

func TestDumpEmpty(t *testing.T) {
	t.Parallel()
	if r := kvtool(t, nil, "dump", newDB(t, nil)).want(t, exitOK); r.stdout != "" {
		t.Errorf("dump of an empty file printed %q", r.stdout)
	}
}

func TestDumpUsage(t *testing.T) {
	t.Parallel()
	kvtool(t, nil, "dump").usage(t, "dump")
}
