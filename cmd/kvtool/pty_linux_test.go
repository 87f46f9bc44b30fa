//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/mapkv/mapkv/internal/testproc"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair through /dev/ptmx (posix_openpt,
// unlockpt and ptsname by hand), or skips the test where there is none.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("opening the terminal's slave side: %v", err)
	}
	// Raw output: no "\n" to "\r\n", so the test sees the bytes kvtool wrote.
	if tio, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS); err == nil {
		tio.Oflag &^= unix.OPOST
		unix.IoctlSetTermios(int(s.Fd()), unix.TCSETS, tio)
	}
	return m, s
}

// kvtoolTTY runs kvtool with stdout (and, with bothTTY, stderr) on a
// terminal, and returns what it wrote there and its exit status.
func kvtoolTTY(t *testing.T, stdin []byte, bothTTY bool, args ...string) (tty, stderr string, code int) {
	t.Helper()
	m, s := openPTY(t)
	cmd := exec.Command(kvtoolPath, args...)
	cmd.Env = testproc.Env()
	cmd.Stdout = s
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	if bothTTY {
		cmd.Stderr = s
	}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(m) // ends with EIO once no process holds the slave
		out <- b
	}()
	err := cmd.Run()
	s.Close()
	got := string(<-out)
	var ee *exec.ExitError
	if err != nil && !errorsAs(err, &ee) {
		t.Fatalf("kvtool %q: %v", args, err)
	}
	if strings.Contains(got+errBuf.String(), "panic:") {
		t.Fatalf("kvtool %q crashed:\n%s%s", args, got, errBuf.String())
	}
	return got, errBuf.String(), cmd.ProcessState.ExitCode()
}

// On a terminal get prints text as it is and quotes anything else; --raw and
// a pipe print the bytes.
func TestGetTerminal(t *testing.T) {
	t.Parallel()
	bin := "\xff\xd8\x1b[31mred\x00"
	path := newDB(t, map[string]string{"text": "héllo\tworld\nline 2", "bin": bin, "nl": "ends\n", "empty": ""})
	for key, want := range map[string]string{
		"text":  "héllo\tworld\nline 2\n",
		"bin":   `"\xff\xd8\x1b[31mred\x00"` + "\n",
		"nl":    "ends\n",
		"empty": "\n",
	} {
		got, stderr, code := kvtoolTTY(t, nil, false, "get", path, key)
		if code != exitOK || got != want {
			t.Errorf("get %s on a terminal: %q (status %d, stderr %q), want %q", key, got, code, stderr, want)
		}
	}
	if got, _, _ := kvtoolTTY(t, nil, false, "get", path, "bin", "--raw"); got != bin+"\n" {
		t.Errorf("get --raw on a terminal: %q", got)
	}
	if r := kvtool(t, nil, "get", path, "bin").want(t, exitOK); r.stdout != bin {
		t.Errorf("get to a pipe: %q", r.stdout)
	}
}

// snapshot shows its progress on a terminal, with --compact too (in keys),
// and refuses to write a copy to a terminal.
func TestSnapshotProgress(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"a": "1", "b": "2"})
	dir := t.TempDir()
	for _, args := range [][]string{{}, {"--compact"}} {
		dest := fmt.Sprintf("%s/copy%d", dir, len(args))
		got, _, code := kvtoolTTY(t, nil, true, append([]string{"snapshot", path, dest}, args...)...)
		want := "100% ("
		if len(args) > 0 {
			want = "100% (2 of 2 keys)"
		}
		if code != exitOK || !strings.Contains(got, "snapshot: ") || !strings.Contains(got, want) {
			t.Errorf("snapshot %q on a terminal: %q, status %d", args, got, code)
		}
	}
	got, stderr, code := kvtoolTTY(t, nil, false, "snapshot", path, "-")
	if code != exitError || got != "" || !strings.Contains(stderr, "terminal") {
		t.Errorf("snapshot - to a terminal: status %d, %q, stderr %q", code, got, stderr)
	}
}

// top on a terminal prints a header, then rows.
func TestTopTerminal(t *testing.T) {
	t.Parallel()
	path := newDB(t, map[string]string{"a": "1"})
	got, _, code := kvtoolTTY(t, nil, false, "top", path, "--count", "2", "--interval", "10ms")
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if code != exitOK || len(lines) != 3 || !strings.HasPrefix(lines[0], "keys ") || !strings.HasPrefix(lines[1], "1 ") {
		t.Errorf("top on a terminal: status %d:\n%s", code, got)
	}
}
