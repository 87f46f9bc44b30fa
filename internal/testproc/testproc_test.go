package testproc

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	Register("echo", func(args []string) error {
		if len(args) == 0 {
			return errors.New("no arguments")
		}
		print(strings.Join(args, "|"))
		return nil
	})
	Main(m)
}

func TestRoleGetsItsArguments(t *testing.T) {
	var stderr bytes.Buffer
	cmd := Command(t, "echo", "a b", "-x", "")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	if got := stderr.String(); got != "a b|-x|" {
		t.Fatalf("child saw %q, want %q", got, "a b|-x|")
	}
}

func TestFailingRoleExitsFailed(t *testing.T) {
	var stderr bytes.Buffer
	cmd := Command(t, "echo")
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitFailed {
		t.Fatalf("exit %v, want status %d", err, ExitFailed)
	}
	if !strings.Contains(stderr.String(), "echo: no arguments") {
		t.Fatalf("stderr %q does not name the role and its error", stderr.String())
	}
}

func TestCopyBinaryRunsRoles(t *testing.T) {
	var stderr bytes.Buffer
	cmd := Command(t, "echo", "from the copy")
	cmd.Path = CopyBinary(t, t.TempDir())
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	if got := stderr.String(); got != "from the copy" {
		t.Fatalf("the copy saw %q, want %q", got, "from the copy")
	}
}
