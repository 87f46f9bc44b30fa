package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestStat(t *testing.T) {
	t.Parallel()
	pairs := map[string]string{}
	for i := range 300 {
		pairs[fmt.Sprint("key", i)] = strings.Repeat("v", i)
	}
	path := newDB(t, pairs)
	r := kvtool(t, nil, "stat", path).want(t, exitOK)
	for _, want := range []string{
		"keys:            300\n", "file size:", "max size:        unlimited\n", "free:", "slots:", "load",
		"max probe:", "growths:", "writer lock:     free\n", "pending repair:  no\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stat output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestStatJSON(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"a": "1", "b": "2"})
	r := kvtool(t, nil, "stat", "--json", path).want(t, exitOK)
	var s statJSON
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	if s.File != path || s.Keys != 2 || s.PageSize != 4096 || s.FileSize == 0 || s.Slots == 0 || s.WriterPID != 0 || s.PendingRepair {
		t.Errorf("stat --json: %+v", s)
	}
	for _, field := range []string{`"keys"`, `"file_size"`, `"slot_load"`, `"max_probe"`, `"writer_pid"`, `"pending_repair"`} {
		if !strings.Contains(r.stdout, field) {
			t.Errorf("stat --json lacks %s", field)
		}
	}
}

func TestStatMissingFile(t *testing.T) {
	t.Parallel()
	kvtool(t, nil, "stat", t.TempDir()+"/missing").want(t, exitError).oneLine(t, "does not exist")
}
