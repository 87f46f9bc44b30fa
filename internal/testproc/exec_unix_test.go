//go:build unix

package testproc

import (
	"bytes"
	"testing"
)

// reexec replaces itself by the echo role, passing its arguments on.
func init() {
	Register("reexec", func(args []string) error { return Exec("echo", append([]string{"via exec"}, args...)...) })
}

func TestExecRunsAnotherRole(t *testing.T) {
	var stderr bytes.Buffer
	cmd := Command(t, "reexec", "x")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	if got := stderr.String(); got != "via exec|x" {
		t.Fatalf("the re-executed child saw %q, want %q", got, "via exec|x")
	}
}

func TestExecRefusesUnknownRole(t *testing.T) {
	if err := Exec("no such role"); err == nil {
		t.Fatal("Exec of an unregistered role returned nil")
	}
}
