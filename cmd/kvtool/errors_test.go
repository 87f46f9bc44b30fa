package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

// What is not a database file gets one line that names it and says why,
// without kv's wording repeated.
func TestNotADatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	zeros := filepath.Join(dir, "zeros")
	os.WriteFile(empty, nil, 0o600)
	os.WriteFile(zeros, make([]byte, 8192), 0o600)
	for _, tt := range []struct {
		path string
		want []string
	}{
		{dir, []string{dir + " is a directory"}},
		{"/dev/null", []string{"/dev/null is not a regular file (it is a character device)"}},
		{empty, []string{"is empty, not a mapkv file"}},
		{zeros, []string{"only zero bytes, not a mapkv file"}},
	} {
		for _, cmd := range []string{"get", "stat", "list"} {
			args := []string{cmd, tt.path}
			if cmd == "get" {
				args = append(args, "k")
			}
			r := kvtool(t, nil, args...).want(t, exitError)
			r.oneLine(t, tt.want...)
			for _, twice := range []string{"invalid argument", "d---------", "kv:", "ReadOnly"} {
				if strings.Contains(r.stderr, twice) {
					t.Errorf("kvtool %q: %q says %q", args, r.stderr, twice)
				}
			}
		}
	}
	kvtool(t, nil, "check", empty).want(t, exitFalse).oneLine(t, "is empty, not a mapkv file")
	kvtool(t, nil, "put", dir, "k", "v").want(t, exitError).oneLine(t, "is a directory")
}

// runAsNobody runs kvtool as user nobody (TestMain leaves the binary where
// nobody can reach it), or skips the test when the tests do not run as root.
func runAsNobody(t *testing.T, args ...string) result {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run kvtool as another user")
	}
	cmd := exec.Command(kvtoolPath, args...)
	cmd.Env = testproc.Env()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.Is(err, os.ErrPermission) {
		t.Skipf("cannot run as nobody here: %v", err)
	}
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// Permission errors blame the right thing: the directory for a new file,
// the file for an existing one, and the hint names every read command.
func TestPermissions(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "kvtool-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o755) // owned by root: nobody may not write in it
	os.Chmod(dir, 0o755)
	db := filepath.Join(ro, "db")
	kvtool(t, nil, "put", db, "k", "v").want(t, exitOK)
	os.Chmod(db, 0o644)
	r := runAsNobody(t, "put", filepath.Join(ro, "new"), "k", "v")
	r.want(t, exitError).oneLine(t, "cannot create", "no permission to write its directory "+ro)
	r = runAsNobody(t, "put", db, "k", "w")
	r.want(t, exitError).oneLine(t, "no permission to write "+db, "snapshot", "watch", "get", "dump")
	if r := runAsNobody(t, "get", db, "k"); r.code != exitOK || r.stdout != "v" {
		t.Errorf("get as nobody: %+v", r)
	}
	os.Chmod(db, 0o600)
	r = runAsNobody(t, "get", db, "k")
	r.want(t, exitError).oneLine(t, "no permission to read "+db)
	if strings.Count(r.stderr, db) != 1 {
		t.Errorf("the path is repeated: %q", r.stderr)
	}
}

// --lock-timeout 0 fails at once when another writer holds the lock, and a
// busy lock exits 75 (EX_TEMPFAIL), so that scripts can retry.
func TestLockTimeoutZero(t *testing.T) {
	t.Parallel()
	path := newDB(t, nil)
	db, err := kv.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	holding, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- db.Update(func(tx *kv.Tx) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	results := []result{
		kvtool(t, nil, "put", path, "k", "v", "--lock-timeout", "0"),
		kvtool(t, nil, "del", path, "k", "--lock-timeout=0s"),
		kvtool(t, nil, "check", path, "--lock-timeout", "0"),
		kvtool(t, nil, "snapshot", path, filepath.Join(t.TempDir(), "s"), "--lock-timeout", "0"),
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		r.want(t, exitTempFail).oneLine(t, "writer lock is held", "--lock-timeout (now 0s)")
	}
	kvtool(t, nil, "put", path, "k", "v", "--lock-timeout", "0").want(t, exitOK)
	kvtool(t, nil, "put", path, "k", "v", "--lock-timeout", "-1s").usage(t, "put")
}

// ErrBusy, a reader that writers kept overtaking, is temporary too: 75.
func TestBusyIsTemporary(t *testing.T) {
	t.Parallel()
	c := newCommand("get", "FILE KEY", "", 0, 0)
	var stderr strings.Builder
	e := &env{stdout: io.Discard, stderr: &stderr}
	for _, err := range []error{
		fail("db", nil, fmt.Errorf("kv: get: %w", kv.ErrBusy)),
		fail("db", nil, fmt.Errorf("kv: lock: %w", kv.ErrLocked)),
	} {
		stderr.Reset()
		if code := c.report(e, err); code != exitTempFail {
			t.Errorf("report(%v) = %d, want %d", err, code, exitTempFail)
		}
		if !strings.Contains(stderr.String(), "retry") {
			t.Errorf("report(%v) printed %q", err, stderr.String())
		}
	}
	if code := c.report(e, fail("db", nil, kv.ErrFull)); code != exitError {
		t.Errorf("ErrFull: %d", code)
	}
}

func TestLoadMessages(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "db")
	for in, want := range map[string]string{
		`{"key":"n","value":1}`:                `line 1: "value" must be a string`,
		`{"key":"n","value":"1","x":2}`:        `unknown field "x"`,
		`{"key":"n","value":"1","ttl_ms":"5"}`: `"ttl_ms" must be a whole number`,
		`{"key":"n","value":"1","ttl_ms":1.5}`: `"ttl_ms" must be a whole number`,
		`[1,2]`:                                "a record is a JSON object",
		`null`:                                 "a record is a JSON object",
		`{"value":"v"}`:                        `no "key" or "key64"`,
	} {
		kvtool(t, []byte(in+"\n"), "load", path).want(t, exitError).oneLine(t, want)
	}
}
