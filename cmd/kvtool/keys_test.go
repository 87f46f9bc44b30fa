package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/mapkv/mapkv/internal/testproc"
)

// Keys that a shell and xargs get wrong survive list | del, in both of
// list's forms: quoted lines read back with -q, and -0.
func TestListRoundTrip(t *testing.T) {
	t.Parallel()
	awkward := map[string]string{
		"-dash": "1", "--double": "2", "with space": "3", "tab\tkey": "4", "new\nline": "5",
		"\xff\xfe": "6", `"quoted"`: "7", "ünï": "8", "keep": "9",
	}
	for _, form := range []string{"quoted", "nul"} {
		path := newDB(t, awkward)
		listArgs, delArgs := []string{"list", path}, []string{"del", "-q", path, "--"}
		sep := "\n"
		if form == "nul" {
			listArgs, delArgs, sep = []string{"list", "-0", path}, []string{"del", path, "--"}, "\x00"
		}
		r := kvtool(t, nil, listArgs...).want(t, exitOK)
		var keys []string
		for _, k := range strings.Split(strings.TrimSuffix(r.stdout, sep), sep) {
			if k != "keep" {
				keys = append(keys, k)
			}
		}
		if len(keys) != len(awkward)-1 {
			t.Fatalf("%s: list printed %d keys: %q", form, len(keys), r.stdout)
		}
		// Every key also reads back one at a time.
		for _, k := range keys {
			args := []string{"get", path, "--", k}
			if form == "quoted" {
				args = []string{"get", "-q", path, "--", k}
			}
			kvtool(t, nil, args...).want(t, exitOK)
		}
		kvtool(t, nil, append(delArgs, keys...)...).want(t, exitOK)
		sameContents(t, contents(t, path), map[string]string{"keep": "9"})
	}
}

// The pipeline the issue names, through xargs.
func TestListXargs(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("xargs"); err != nil {
		t.Skip("no xargs")
	}
	path := newDB(t, map[string]string{"-x": "1", "a b": "2", "tmp:\xff": "3", "keep": "4"})
	script := fmt.Sprintf(`%[1]s list -0 %[2]s --match '[-a]*' | xargs -0 %[1]s del %[2]s -- &&
		%[1]s list %[2]s --prefix tmp: | xargs -d '\n' %[1]s del -q %[2]s --`, kvtoolPath, path)
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = testproc.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	sameContents(t, contents(t, path), map[string]string{"keep": "4"})
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	pairs := map[string]string{"user:1": "a", "user:2": "b", "user:10": "c", "session:1": "d", "\xffbin": "e"}
	path := newDB(t, pairs)
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"--prefix", "user:"}, []string{"user:1", "user:10", "user:2"}},
		{[]string{"--match", "user:?"}, []string{"user:1", "user:2"}},
		{[]string{"--match", "*:1*"}, []string{"session:1", "user:1", "user:10"}},
		{[]string{"--prefix", "user:", "--match", "*0"}, []string{"user:10"}},
		{[]string{"-q", "--prefix", `"\xff"`}, []string{`"\xffbin"`}},
		{[]string{"--match", "nothing*"}, nil},
	} {
		r := kvtool(t, nil, append([]string{"list", path}, tt.args...)...).want(t, exitOK)
		got := strings.Fields(r.stdout)
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("list %q: %q, want %q", tt.args, got, tt.want)
		}
		r = kvtool(t, nil, append([]string{"list", path, "--count"}, tt.args...)...).want(t, exitOK)
		if r.stdout != fmt.Sprintln(len(tt.want)) {
			t.Errorf("list --count %q: %q, want %d", tt.args, r.stdout, len(tt.want))
		}
	}
	if r := kvtool(t, nil, "list", path, "--count", "--json").want(t, exitOK); r.stdout != `{"count":5}`+"\n" {
		t.Errorf("list --count --json: %q", r.stdout)
	}
	// -0 with --values: key, NUL, value, NUL.
	if r := kvtool(t, nil, "list", "-0", "--values", path, "--prefix", "session").want(t, exitOK); r.stdout != "session:1\x00d\x00" {
		t.Errorf("list -0 --values: %q", r.stdout)
	}
	kvtool(t, nil, "list", path, "--match", "[abc").usage(t, "list")
	kvtool(t, nil, "list", path, "-q", "--prefix", `"\q"`).usage(t, "list")
	kvtool(t, nil, "list", path, "-0", "--json").usage(t, "list")
}

// A key with a zero byte cannot be an argument: list -0 quotes it and says so.
func TestListNulZeroByte(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"a\x00b": "1"})
	r := kvtool(t, nil, "list", "-0", path).want(t, exitOK)
	if r.stdout != `"a\x00b"`+"\x00" {
		t.Errorf("list -0: %q", r.stdout)
	}
	r.oneLine(t, "1 key with a zero byte", "-q")
}

func TestDelFilters(t *testing.T) {
	t.Parallel()
	pairs := map[string]string{}
	for i := range 2500 { // more than one batch
		pairs[fmt.Sprint("tmp:", i)] = "x"
	}
	pairs["user:1"], pairs["user:22"], pairs["keep"] = "a", "b", "c"
	path := newDB(t, pairs)
	if r := kvtool(t, nil, "del", path, "--prefix", "tmp:", "--count").want(t, exitOK); r.stdout != "2500\n" {
		t.Errorf("del --prefix --count: %q", r.stdout)
	}
	if r := kvtool(t, nil, "del", path, "--match", "user:?", "--count", "--json").want(t, exitOK); r.stdout != `{"deleted":1}`+"\n" {
		t.Errorf("del --match --count --json: %q", r.stdout)
	}
	sameContents(t, contents(t, path), map[string]string{"user:22": "b", "keep": "c"})
	if r := kvtool(t, nil, "del", path, "keep", "absent", "keep", "--count").want(t, exitOK); r.stdout != "1\n" {
		t.Errorf("del KEY... --count: %q", r.stdout)
	}
	kvtool(t, nil, "del", path).usage(t, "del")
	kvtool(t, nil, "del", path, "k", "--prefix", "x").usage(t, "del")
	kvtool(t, nil, "del", path, "--match", "[").usage(t, "del")
}

func TestDumpFilters(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"a:1": "x", "a:2": "y", "b:1": "z"})
	r := kvtool(t, nil, "dump", path, "--prefix", "a:").want(t, exitOK)
	if n := strings.Count(r.stdout, "\n"); n != 2 || strings.Contains(r.stdout, "b:1") {
		t.Errorf("dump --prefix a: %q", r.stdout)
	}
	r = kvtool(t, nil, "dump", path, "--match", "*1").want(t, exitOK)
	var keys []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var rec record
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Key == nil {
			t.Fatalf("line %q: %v", line, err)
		}
		keys = append(keys, *rec.Key)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"a:1", "b:1"}) {
		t.Errorf("dump --match *1: %q", keys)
	}
}
