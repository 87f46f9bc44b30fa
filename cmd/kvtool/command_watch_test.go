package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mapkv/mapkv/internal/testproc"
	"github.com/mapkv/mapkv/kv"
)

// watcher is a running kvtool watch whose stdout the test reads line by line.
type watcher struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr bytes.Buffer
	done   chan struct{} // closed when stdout reaches its end
}

// startWatch starts kvtool with args and reads its stdout as it comes.
func startWatch(t *testing.T, args ...string) *watcher {
	t.Helper()
	w, err := startWatchCmd(t, exec.Command(kvtoolPath, args...))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// startWatchCmd is startWatch for a command the caller has set up.
func startWatchCmd(t *testing.T, cmd *exec.Cmd) (*watcher, error) {
	t.Helper()
	w := &watcher{cmd: cmd, lines: make(chan string, 100), done: make(chan struct{})}
	w.cmd.Env = testproc.Env()
	w.cmd.Stderr = &w.stderr
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := w.cmd.Start(); err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		w.cmd.Process.Kill()
		<-w.done
		w.cmd.Wait()
	})
	go func() {
		defer close(w.done)
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				w.lines <- line
			}
			if err != nil {
				close(w.lines)
				return
			}
		}
	}()
	return w, nil
}

// next returns the next line watch prints, failing the test if none comes
// within a few seconds.
func (w *watcher) next(t *testing.T) string {
	t.Helper()
	select {
	case line, ok := <-w.lines:
		if !ok {
			t.Fatalf("watch ended its output early; stderr: %q", w.stderr.String())
		}
		return line
	case <-time.After(10 * time.Second):
		t.Fatalf("watch printed no line in 10s; stderr: %q", w.stderr.String())
	}
	return ""
}

// wait waits for watch to exit, with nothing more on stdout, and fails the
// test unless its status is code.
func (w *watcher) wait(t *testing.T, code int) {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not exit in 10s")
	}
	for line := range w.lines {
		t.Errorf("unexpected line %q", line)
	}
	w.cmd.Wait()
	if got := w.cmd.ProcessState.ExitCode(); got != code {
		t.Fatalf("watch exited %d, want %d; stderr: %q", got, code, w.stderr.String())
	}
	if s := w.stderr.String(); strings.Contains(s, "panic:") || strings.Contains(s, "DATA RACE") {
		t.Fatalf("watch crashed:\n%s", s)
	}
}

// watchLine is a line of watch --json, decoded strictly.
type watchLine struct {
	Value   *string `json:"value"`
	Value64 *string `json:"value64"`
	Version uint64  `json:"version"`
	Deleted bool    `json:"deleted"`
}

func decodeWatch(t *testing.T, line string) watchLine {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	var l watchLine
	if err := dec.Decode(&l); err != nil {
		t.Fatalf("line %q: %v", line, err)
	}
	return l
}

// wantValue fails the test unless line is watch --json's line for value v,
// and returns the line's version.
func wantValue(t *testing.T, line string, v []byte) uint64 {
	t.Helper()
	l := decodeWatch(t, line)
	var got []byte
	switch {
	case l.Deleted:
		t.Fatalf("line %q: deleted, want value %q", line, v)
	case l.Value != nil && l.Value64 == nil:
		got = []byte(*l.Value)
	case l.Value64 != nil && l.Value == nil:
		unspelled, err := unspell("value", nil, l.Value64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got = unspelled
	default:
		t.Fatalf("line %q: want exactly one of value and value64", line)
	}
	if !bytes.Equal(got, v) {
		t.Fatalf("line %q: value %q, want %q", line, got, v)
	}
	if l.Version == 0 {
		t.Fatalf("line %q: no version", line)
	}
	return l.Version
}

func openDB(t *testing.T, path string) *kv.DB {
	t.Helper()
	db, err := kv.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func put(t *testing.T, db *kv.DB, k string, v []byte) {
	t.Helper()
	if err := db.Put([]byte(k), v); err != nil {
		t.Fatal(err)
	}
}

// Watch prints the initial value and then each value another process puts,
// in order, binary ones in base64, and stops after --count. Each put waits
// for the line of the one before, so that none is overtaken by the next.
func TestWatchJSON(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"k": "v0"})
	w := startWatch(t, "watch", path, "k", "--count", "3", "--json")
	db := openDB(t, path)
	v1 := []byte("v1 <&> \"quoted\"\n")
	v2 := []byte{0xff, 0x00, 'x'}
	ver0 := wantValue(t, w.next(t), []byte("v0"))
	put(t, db, "k", v1)
	ver1 := wantValue(t, w.next(t), v1)
	put(t, db, "k", v2)
	ver2 := wantValue(t, w.next(t), v2)
	if ver0 == ver1 || ver1 == ver2 {
		t.Errorf("versions %d, %d, %d: want each new", ver0, ver1, ver2)
	}
	put(t, db, "k", []byte("v3")) // after --count 3: not printed
	w.wait(t, exitOK)
}

// A key that is absent at first is printed once it is stored; a deleted one
// prints {"deleted":true} in JSON and nothing in raw mode, and is printed
// again when stored again.
func TestWatchAbsentAndDeleted(t *testing.T) {
	t.Parallel()
	for _, asJSON := range []bool{false, true} {
		path := newDB(t, map[string]string{"other": "x"})
		args := []string{"watch", path, "k", "--count", "2"}
		if asJSON {
			args = append(args, "--json")
		}
		w := startWatch(t, args...)
		db := openDB(t, path)
		time.Sleep(50 * time.Millisecond) // let watch look at the absent key first
		put(t, db, "k", []byte("first"))
		if line := w.next(t); asJSON {
			wantValue(t, line, []byte("first"))
		} else if line != "first\n" {
			t.Fatalf("line %q, want %q", line, "first\n")
		}
		if err := db.Delete([]byte("k")); err != nil {
			t.Fatal(err)
		}
		if asJSON {
			if line := w.next(t); line != `{"deleted":true}`+"\n" {
				t.Fatalf("line %q, want {\"deleted\":true}", line)
			}
		} else {
			time.Sleep(200 * time.Millisecond) // time to print anything it would
		}
		put(t, db, "k", []byte("second"))
		if line := w.next(t); asJSON {
			wantValue(t, line, []byte("second"))
		} else if line != "second\n" {
			t.Fatalf("line %q, want %q", line, "second\n")
		}
		w.wait(t, exitOK)
	}
}

// SIGINT and SIGTERM are the normal end of a watch: status 0.
func TestWatchSignal(t *testing.T) {
	t.Parallel()
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		path := newDB(t, map[string]string{"k": "v"})
		w := startWatch(t, "watch", path, "k")
		if line := w.next(t); line != "v\n" {
			t.Fatalf("line %q", line)
		}
		if err := w.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		w.wait(t, exitOK)
	}
}

// A user who may only read the file can watch it; watch then polls. Root may
// write any file, so as root watch runs as user nobody (TestMain leaves the
// binary where nobody can reach it).
func TestWatchReadOnlyFile(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "kvtool-watch-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ro.db")
	db := openDB(t, path) // before the chmod: this one writes
	put(t, db, "k", []byte("v0"))
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(kvtoolPath, "watch", path, "k", "--count", "2")
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	w, err := startWatchCmd(t, cmd)
	if errors.Is(err, fs.ErrPermission) {
		t.Skipf("cannot start watch as nobody here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if line := w.next(t); line != "v0\n" {
		t.Fatalf("line %q", line)
	}
	put(t, db, "k", []byte("v1"))
	if line := w.next(t); line != "v1\n" {
		t.Fatalf("line %q", line)
	}
	w.wait(t, exitOK)
}

func TestWatchMissingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "missing.db")
	kvtool(t, nil, "watch", path, "k").want(t, exitError).oneLine(t, "does not exist")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("watch created %s: %v", path, err)
	}
	// Nor does it initialise an empty file.
	empty := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	kvtool(t, nil, "watch", empty, "k").want(t, exitError).oneLine(t)
	if st, err := os.Stat(empty); err != nil || st.Size() != 0 {
		t.Errorf("watch changed the empty file: %v, %v", st, err)
	}
}

func TestWatchUsage(t *testing.T) {
	t.Parallel()
	path := newDB(t, nil)
	kvtool(t, nil, "watch").usage(t, "watch")
	kvtool(t, nil, "watch", path).usage(t, "watch")
	kvtool(t, nil, "watch", path, "").usage(t, "watch")
	kvtool(t, nil, "watch", path, "k", "extra").usage(t, "watch")
	kvtool(t, nil, "watch", path, "k", "--count", "-1").usage(t, "watch")
	kvtool(t, nil, "watch", path, "k", "--count", "many").usage(t, "watch")
}

// watch -q takes the key in list's quoted form.
func TestWatchQuotedKey(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"\xff\x00k": "v"})
	if r := kvtool(t, nil, "watch", "-q", path, `"\xff\x00k"`, "--count", "1").want(t, exitOK); r.stdout != "v\n" {
		t.Errorf("watch -q: %q", r.stdout)
	}
	kvtool(t, nil, "check", path, "--lock-timeout", "-1s").usage(t, "check")
}
