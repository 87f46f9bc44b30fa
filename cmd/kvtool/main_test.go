package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mapkv/mapkv/internal/kvtest"
	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

// kvtoolPath is the kvtool binary TestMain builds; the tests run it as a user
// would, so exit statuses, stdout and stderr are tested as they are.
var kvtoolPath string

func TestMain(m *testing.M) {
	// The test binary doubles as helper processes (see helper_test.go).
	testproc.Register("transfer", func(args []string) error { return transfer(args[0]) })
	testproc.RunChild()
	dir, err := os.MkdirTemp("", "kvtool-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// The tests that run kvtool as user nobody run this binary: a copy made
	// while other tests fork fails to start now and then (ETXTBSY).
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	kvtoolPath = filepath.Join(dir, "kvtool")
	args := []string{"build", "-o", kvtoolPath}
	if testproc.RaceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building kvtool: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of kvtool did.
type result struct {
	stdout, stderr string
	code           int
}

// kvtool runs the binary with args, stdin as its standard input (nil: none),
// and returns what it did.
func kvtool(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	cmd := exec.Command(kvtoolPath, args...)
	cmd.Env = testproc.Env()
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("kvtool %q: %v", args, err)
	}
	r := result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
	if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "DATA RACE") {
		t.Fatalf("kvtool %q crashed:\n%s", args, r.stderr)
	}
	return r
}

// want fails the test unless r exited with code.
func (r result) want(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstdout: %q\nstderr: %q", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// oneLine fails the test unless r's stderr is one line containing every
// string of wants.
func (r result) oneLine(t *testing.T, wants ...string) {
	t.Helper()
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr is not one line: %q", r.stderr)
	}
	for _, w := range wants {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q does not contain %q", r.stderr, w)
		}
	}
}

// usage fails the test unless r is a usage error of command name.
func (r result) usage(t *testing.T, name string) {
	t.Helper()
	r.want(t, exitError)
	if !strings.Contains(r.stderr, "usage: kvtool "+name+" ") {
		t.Errorf("stderr has no usage of %s: %q", name, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout not empty: %q", r.stdout)
	}
}

// newDB creates a database file in a fresh directory holding pairs, and
// returns its path.
func newDB(t *testing.T, pairs map[string]string) string {
	t.Helper()
	db, path := kvtest.OpenTemp(t, nil)
	defer db.Close() // before kvtool opens it
	err := db.Update(func(tx *kv.Tx) error {
		for k, v := range pairs {
			if err := tx.Put([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// contents returns every pair of the database at path, opened read-only.
func contents(t *testing.T, path string) map[string]string {
	t.Helper()
	db, err := kv.Open(path, &kv.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := map[string]string{}
	err = db.ForEach(func(k, v []byte) error {
		m[string(k)] = string(v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sameContents fails the test unless got and want hold the same pairs.
func sameContents(t *testing.T, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d keys, want %d", len(got), len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("key %q missing", k)
		} else if g != v {
			t.Errorf("key %q = %q, want %q", k, short(g), short(v))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected key %q", k)
		}
	}
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return s
}

// awkwardPairs are keys and values that a text format gets wrong: every
// byte value, invalid UTF-8, quotes, newlines, HTML characters, an empty
// value and a value spanning several pages.
func awkwardPairs() map[string]string {
	m := map[string]string{
		"plain":            "value",
		"with space":       "two words",
		"tab\tkey":         "tab\tvalue",
		"new\nline":        "line\n",
		`"quoted"`:         `"v"`,
		"<html>&amp;":      "<b>&</b>",
		"héllo wörld ☃":    "ünïcödé",
		"\xff\xfe\x00":     "\x00\x01\x02\xff",
		"\u200bzero-width": "",
		"empty value":      "",
		"big":              strings.Repeat("0123456789abcdef", 20000),
		"-dash":            "-",
	}
	for b := 0; b < 256; b++ {
		m[fmt.Sprintf("byte-%c", b)] = string([]byte{byte(b), byte(255 - b)})
	}
	return m
}

func TestNoArguments(t *testing.T) {
	t.Parallel()
	r := kvtool(t, nil).want(t, exitError)
	if !strings.Contains(r.stderr, "usage: kvtool COMMAND") {
		t.Errorf("stderr has no overview: %q", r.stderr)
	}
}

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	r := kvtool(t, nil, "frobnicate", "x").want(t, exitError)
	if !strings.HasPrefix(r.stderr, "kvtool: unknown command \"frobnicate\"\nusage: kvtool COMMAND FILE") || strings.Contains(r.stderr, "did you mean") {
		t.Errorf("stderr %q", r.stderr)
	}
	for typo, want := range map[string]string{"gte": "get", "snap": "snapshot", "sta": "stat", "lsit": "list", "dle": "del"} {
		r := kvtool(t, nil, typo, "x").want(t, exitError)
		if !strings.Contains(r.stderr, fmt.Sprintf("did you mean %q?", want)) || !strings.Contains(r.stderr, "usage: kvtool COMMAND") {
			t.Errorf("kvtool %s: stderr %q, want a suggestion of %s and the usage line", typo, r.stderr, want)
		}
	}
}

func TestUnknownFlag(t *testing.T) {
	t.Parallel()
	path := newDB(t, nil)
	r := kvtool(t, nil, "get", path, "k", "--frob")
	r.usage(t, "get")
	if !strings.Contains(r.stderr, "frob") {
		t.Errorf("stderr does not name the flag: %q", r.stderr)
	}
	if r := kvtool(t, nil, "list", path, "--prefx", "a"); !strings.Contains(r.stderr, "unknown flag --prefx: did you mean --prefix?") {
		t.Errorf("--prefx: %q", r.stderr)
	}
}

func TestTooManyArguments(t *testing.T) {
	t.Parallel()
	path := newDB(t, nil)
	kvtool(t, nil, "get", path, "k", "extra").usage(t, "get")
}

func TestFlagsAnywhere(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "db")
	kvtool(t, nil, "put", path, "k1", "v1", "--sync").want(t, exitOK)
	kvtool(t, nil, "put", "--sync", path, "k2", "v2").want(t, exitOK)
	kvtool(t, nil, "put", path, "--lock-timeout", "1s", "k3", "v3").want(t, exitOK)
	kvtool(t, nil, "put", path, "k4", "--lock-timeout=2s", "v4").want(t, exitOK)
	kvtool(t, nil, "put", path, "--", "-k5", "-v5").want(t, exitOK)
	kvtool(t, nil, "put", "--lock-timeout", "soon", path, "k", "v").usage(t, "put")
	sameContents(t, contents(t, path), map[string]string{"k1": "v1", "k2": "v2", "k3": "v3", "k4": "v4", "-k5": "-v5"})
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// kvtoolTo runs kvtool with stdout on the file at out (such as /dev/full).
func kvtoolTo(t *testing.T, out string, args ...string) result {
	t.Helper()
	f, err := os.OpenFile(out, os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no %s here: %v", out, err)
	}
	defer f.Close()
	cmd := exec.Command(kvtoolPath, args...)
	cmd.Env = testproc.Env()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = f, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("kvtool %q: %v", args, err)
	}
	return result{stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// A command whose output is lost fails, even one that prints and ignores
// the error.
func TestOutputLost(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"k": "v"})
	for _, args := range [][]string{{"check", path}, {"help"}, {"help", "get"}, {"get", path, "k"}, {"list", path}, {"stat", path}, {"version"}, {"completion", "bash"}} {
		kvtoolTo(t, "/dev/full", args...).want(t, exitError).oneLine(t, "no space left on device")
	}
}

func fmtSscan(s string, args ...any) (int, error) { return fmt.Sscan(s, args...) }
