package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mapkv/mapkv/kv"
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

// dump | load keeps expiry: ttl_ms is the time left, and the copy's key
// expires no later than the original's TTL, measured before the dump, says.
func TestDumpLoadTTL(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"forever": "v"})
	db, err := kv.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, ttl := range map[string]time.Duration{"hour": time.Hour, "gone": time.Millisecond} {
		if err := db.PutTTL([]byte(k), []byte("v-"+k), ttl); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	time.Sleep(5 * time.Millisecond) // "gone" expires
	before := ttlOf(t, path, "hour")

	r := kvtool(t, nil, "dump", path).want(t, exitOK)
	type line struct {
		Key   string `json:"key"`
		TTLms *int64 `json:"ttl_ms"`
	}
	var recs []line
	for _, l := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		var rec line
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		recs = append(recs, rec)
	}
	if len(recs) != 2 {
		t.Fatalf("dump printed %d records, want forever and hour:\n%s", len(recs), r.stdout)
	}
	for _, rec := range recs {
		switch {
		case rec.Key == "forever" && rec.TTLms != nil:
			t.Errorf("forever has ttl_ms %d", *rec.TTLms)
		case rec.Key == "hour" && (rec.TTLms == nil || *rec.TTLms <= 0 || *rec.TTLms > before.Milliseconds()):
			t.Errorf("hour: ttl_ms %v, want 1 to %d", rec.TTLms, before.Milliseconds())
		case rec.Key != "forever" && rec.Key != "hour":
			t.Errorf("unexpected key %q", rec.Key)
		}
	}
	if !strings.Contains(r.stdout, `{"key":"hour","value":"v-hour","ttl_ms":`) {
		t.Errorf("dump does not write ttl_ms after the value:\n%s", r.stdout)
	}

	copyPath := filepath.Join(t.TempDir(), "copy.db")
	kvtool(t, []byte(r.stdout), "load", copyPath).want(t, exitOK)
	sameContents(t, contents(t, copyPath), map[string]string{"forever": "v", "hour": "v-hour"})
	if d := ttlOf(t, copyPath, "hour"); d <= 0 || d > before {
		t.Errorf("TTL of the copy: %v, want more than 0 and at most the original's %v", d, before)
	}
	if d := ttlOf(t, copyPath, "forever"); d != kv.NoTTL {
		t.Errorf("TTL of the copy of forever: %v, want none", d)
	}
}
