//go:build !linux

package powerloss

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
)

// Record needs seccomp user notification, which only Linux has: here it
// returns an error wrapping ErrUnavailable.
func Record(ctx context.Context, cmd *exec.Cmd, path string) (*Trace, error) {
	return nil, fmt.Errorf("powerloss: %s has no seccomp user notification: %w", runtime.GOOS, ErrUnavailable)
}

// Launch is the launcher role; elsewhere than on Linux it has nothing to do.
func Launch(args []string) error {
	return fmt.Errorf("powerloss: %s has no seccomp user notification: %w", runtime.GOOS, ErrUnavailable)
}
