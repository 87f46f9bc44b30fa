package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mapkv/mapkv/internal/kvtest"
	"github.com/mapkv/mapkv/kv"
)

func TestLoadMerges(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"keep": "1", "replace": "old"})
	in := `{"key":"replace","value":"new"}

{"key64":"AP8=","value64":"AAEC"}
{ "value": "spaced", "key": "k2" }
`
	kvtool(t, []byte(in), "load", path).want(t, exitOK)
	sameContents(t, contents(t, path), map[string]string{
		"keep": "1", "replace": "new", "\x00\xff": "\x00\x01\x02", "k2": "spaced",
	})
}

// Load commits in batches of loadBatchRecords.
func TestLoadBatches(t *testing.T) {
	t.Parallel()
	path := newDB(t, nil)
	var in strings.Builder
	want := map[string]string{}
	for i := range 2500 {
		fmt.Fprintf(&in, "{\"key\":\"k%d\",\"value\":\"v%d\"}\n", i, i)
		want[fmt.Sprint("k", i)] = fmt.Sprint("v", i)
	}
	before := commits(t, path)
	kvtool(t, []byte(in.String()), "load", path, "--sync").want(t, exitOK)
	if n := commits(t, path) - before; n != 3 {
		t.Errorf("load of 2500 records made %d commits, want 3", n)
	}
	sameContents(t, contents(t, path), want)
}

func commits(t *testing.T, path string) int64 {
	db, err := kv.Open(path, &kv.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return db.Stats().Commits
}

// A bad line stops load: the records before it are stored, none after it.
func TestLoadBadLine(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ line, msg string }{
		{`not json`, "not a dump record"},
		{`{"key":"x"}`, `no "value" or "value64"`},
		{`{"value":"x"}`, `no "key" or "key64"`},
		{`{"key":"","value":"x"}`, "empty key"},
		{`{"key":"x","key64":"eA==","value":"x"}`, `both "key" and "key64"`},
		{`{"key64":"!!","value":"x"}`, "base64"},
		{`{"key":"x","value":"x","extra":1}`, "extra"},
		{`{"key":"x","value":"x","ttl_ms":0}`, `"ttl_ms" is 0: it must be from 1 to`},
		{`{"key":"x","value":"x","ttl_ms":-5}`, `"ttl_ms" is -5`},
		{`{"key":"x","value":"x","ttl_ms":9223372036855}`, `"ttl_ms" is 9223372036855`},
		{`{"key":"x","value":"x","ttl_ms":1.5}`, "ttl_ms"},
		{`{"key":"x","value":"x","ttl_ms":"5000"}`, "ttl_ms"},
		{`{"key":"x","value":"x"} {"key":"y","value":"y"}`, "more than one"},
		{`["key","value"]`, "not a dump record"},
		{"{\"key\":\"x\xff\",\"value\":\"x\"}", "not valid UTF-8"},
		{`{"key":"` + strings.Repeat("k", kv.MaxKeySize+1) + `","value":"x"}`, "keys may have up to 65535"},
	} {
		path := filepath.Join(t.TempDir(), "db")
		in := `{"key":"first","value":"1"}` + "\n" + `{"key":"second","value":"2"}` + "\n" +
			tt.line + "\n" + `{"key":"after","value":"3"}` + "\n"
		kvtool(t, []byte(in), "load", path).want(t, exitError).oneLine(t, "load: line 3: ", tt.msg)
		sameContents(t, contents(t, path), map[string]string{"first": "1", "second": "2"})
	}
}

func TestLoadFull(t *testing.T) {
	t.Parallel()
	db, path := kvtest.OpenTemp(t, &kv.Options{MaxSize: 256 << 10})
	db.Close() // kvtool fills it
	var in strings.Builder
	for i := range 100 {
		fmt.Fprintf(&in, "{\"key\":\"k%d\",\"value\":%q}\n", i, strings.Repeat("v", 3000))
	}
	kvtool(t, []byte(in.String()), "load", path).want(t, exitError).oneLine(t, "database is full")
}

func TestLoadUsage(t *testing.T) {
	t.Parallel()
	kvtool(t, nil, "load").usage(t, "load")
}
