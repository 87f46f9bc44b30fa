//go:build linux && (amd64 || arm64)

package powerloss

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/mapkv/mapkv/internal/testproc"
	"golang.org/x/sys/unix"
)

// Launch is the launcher role: args are the role to run under the filter and
// its arguments. It installs the filter on its own (locked) thread, sends the
// listener to the supervisor over descriptor 3, waits until the supervisor
// has it, and execs the role, whose every thread inherits the filter. If the
// filter cannot be installed it tells the supervisor why and returns nil.
func Launch(args []string) error {
	if len(args) == 0 {
		return errors.New("no role to launch")
	}
	runtime.LockOSThread() // never unlocked: the filter is this thread's
	listener, err := installFilter()
	if err != nil {
		if serr := unix.Sendmsg(launchSocketFD, []byte("unavailable: "+err.Error()), nil, nil, 0); serr != nil {
			return fmt.Errorf("%v; telling the supervisor: %w", err, serr)
		}
		return nil
	}
	if err := unix.Sendmsg(launchSocketFD, []byte("ok"), unix.UnixRights(listener), nil, 0); err != nil {
		return fmt.Errorf("send the listener: %w", err)
	}
	var b [1]byte
	if n, err := unix.Read(launchSocketFD, b[:]); n != 1 {
		return fmt.Errorf("the supervisor did not take the listener: %d bytes, %v", n, err)
	}
	unix.Close(listener)
	unix.Close(launchSocketFD)
	return testproc.Exec(args[0], args[1:]...)
}
