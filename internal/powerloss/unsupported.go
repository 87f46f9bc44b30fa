//go:build !linux || !(amd64 || arm64)

package powerloss

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
)

// Record needs seccomp user notification, which only Linux has, and a filter
// for the architecture (this package has amd64 and arm64): elsewhere it
// returns an error wrapping ErrUnavailable.
func Record(ctx context.Context, cmd *exec.Cmd, path string) (*Trace, error) {
	return nil, fmt.Errorf("powerloss: no seccomp filter for %s/%s: %w", runtime.GOOS, runtime.GOARCH, ErrUnavailable)
}

// Launch is the launcher role; here it has nothing to do.
func Launch(args []string) error {
	return fmt.Errorf("powerloss: no seccomp filter for %s/%s: %w", runtime.GOOS, runtime.GOARCH, ErrUnavailable)
}
