package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The text exposition format, strictly: # HELP and # TYPE once per family,
// before its samples, and samples name{path="..."} value.
var (
	promHelp   = regexp.MustCompile(`^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$`)
	promType   = regexp.MustCompile(`^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$`)
	promSample = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)\{path="((?:[^"\\\n]|\\[\\"n])*)"\} (-?[0-9]+(?:\.[0-9]+)?)$`)
)

// parseProm checks text against the format and returns each family's type
// and its samples by path.
func parseProm(t *testing.T, text string) (types map[string]string, samples map[string]map[string]string) {
	t.Helper()
	types, samples = map[string]string{}, map[string]map[string]string{}
	helped := map[string]bool{}
	current := ""
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case promHelp.MatchString(l):
			name := promHelp.FindStringSubmatch(l)[1]
			if helped[name] {
				t.Errorf("second HELP for %s", name)
			}
			helped[name], current = true, name
		case promType.MatchString(l):
			m := promType.FindStringSubmatch(l)
			if m[1] != current || types[m[1]] != "" {
				t.Errorf("TYPE line %q out of place", l)
			}
			types[m[1]] = m[2]
		case promSample.MatchString(l):
			m := promSample.FindStringSubmatch(l)
			if m[1] != current || types[m[1]] == "" {
				t.Errorf("sample %q outside its family", l)
			}
			if samples[m[1]] == nil {
				samples[m[1]] = map[string]string{}
			}
			samples[m[1]][m[2]] = m[3]
		default:
			t.Errorf("line %q is not in the exposition format", l)
		}
	}
	for name, typ := range types {
		if strings.HasSuffix(name, "_total") != (typ == "counter") || !strings.HasPrefix(name, "mapkv_") {
			t.Errorf("family %s of type %s: counters and only counters end in _total", name, typ)
		}
	}
	return types, samples
}

func TestStatPrometheus(t *testing.T) {
	t.Parallel()
	a := newDB(t, map[string]string{"k": "v", "l": "w"})
	dir := t.TempDir()
	b := filepath.Join(dir, `odd "name"`)
	kvtool(t, nil, "create", b, "--max-size", "1MiB", "--evict").want(t, exitOK)
	r := kvtool(t, nil, "stat", "--prometheus", a, b).want(t, exitOK)
	types, samples := parseProm(t, r.stdout)
	bLabel := escapeLabel(b)
	for name, want := range map[string]map[string]string{
		"mapkv_keys":           {a: "2", bLabel: "0"},
		"mapkv_cache_mode":     {a: "0", bLabel: "1"},
		"mapkv_max_size_bytes": {a: "0", bLabel: "1048576"},
		"mapkv_commits_total":  {a: "1"},
	} {
		for path, v := range want {
			if got := samples[name][path]; got != v {
				t.Errorf("%s{path=%q} = %q, want %q", name, path, got, v)
			}
		}
	}
	for _, name := range []string{"mapkv_evictions_total", "mapkv_expired_total", "mapkv_live_bytes", "mapkv_slot_load", "mapkv_writer_lock_held"} {
		if types[name] == "" {
			t.Errorf("no family %s", name)
		}
	}
	// Hits and misses are a cache's: b has them, a (a store) has none.
	if _, ok := samples["mapkv_hits_total"][bLabel]; !ok || types["mapkv_hits_total"] != "counter" {
		t.Errorf("no mapkv_hits_total for the cache")
	}
	if _, ok := samples["mapkv_misses_total"][a]; ok {
		t.Errorf("mapkv_misses_total for a store")
	}
	kvtool(t, nil, "stat", a, "--prometheus", "--json").usage(t, "stat")
}

func TestStatModeAndCounters(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "c")
	kvtool(t, nil, "create", path, "--max-size", "256k", "--evict").want(t, exitOK)
	// Fill the cache past its bound: it evicts.
	for i := range 80 {
		kvtool(t, []byte(strings.Repeat("x", 8000)), "put", path, "k"+strings.Repeat("i", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26)), "-").want(t, exitOK)
	}
	s := statOf(t, path)
	if s.Evictions == 0 || s.Mode != "cache" || s.FileSize > 256<<10 {
		t.Errorf("a full cache: %+v", s)
	}
	r := kvtool(t, nil, "stat", path).want(t, exitOK)
	for _, want := range []string{"mode:            cache", "evictions:", "expired:", "expired keys:", "max size:        256 KiB"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stat lacks %q:\n%s", want, r.stdout)
		}
	}
	// Several files: one block each.
	other := newDB(t, nil)
	if r := kvtool(t, nil, "stat", path, other).want(t, exitOK); strings.Count(r.stdout, "file:") != 2 {
		t.Errorf("stat of two files:\n%s", r.stdout)
	}
}
