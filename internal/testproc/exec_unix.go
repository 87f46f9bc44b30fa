//go:build unix

package testproc

import (
	"encoding/json"
	"fmt"
	"os"
	"syscall"
)

// Exec replaces the current process with the test binary running role with
// args, as Command would have started it; it returns only on failure. A role
// uses it to hand over state that only a new program image takes along: a
// seccomp filter installed on the calling thread (execve keeps it and every
// thread of the new image inherits it), or the file descriptors it was given.
// A caller that installed per-thread state must have locked its goroutine to
// that thread (runtime.LockOSThread).
func Exec(role string, args ...string) error {
	if _, ok := roles[role]; !ok {
		return fmt.Errorf("testproc: exec: role %q is not registered", role)
	}
	encoded, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("testproc: exec %s: %w", role, err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("testproc: exec %s: %w", role, err)
	}
	env := Env(envRole+"="+role, envArgs+"="+string(encoded))
	if err := syscall.Exec(exe, []string{os.Args[0], "-test.run=^$"}, env); err != nil {
		return fmt.Errorf("testproc: exec %s as role %s: %w", exe, role, err)
	}
	return nil // not reached
}
