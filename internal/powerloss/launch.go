package powerloss

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/mapkv/mapkv/internal/testproc"
)

// ErrUnavailable is wrapped by Record's error when this system cannot hold a
// child at its system calls (no seccomp user notification, an architecture
// this package has no filter for, another OS). Tests skip on it.
var ErrUnavailable = errors.New("powerloss: seccomp user notification unavailable")

// LauncherRole is the role name under which a test package registers Launch:
//
//	testproc.Register(powerloss.LauncherRole, powerloss.Launch)
const LauncherRole = "powerloss-launch"

// The launcher's descriptors, as Record passes them (exec.Cmd.ExtraFiles).
const (
	launchSocketFD = 3 // the unix socket the listener goes back over
	ackFD          = 4 // the writer's acknowledgement pipe
	ackEnv         = "MAPKV_POWERLOSS_ACK_FD"
)

// Command returns the launcher set up to run role with args under the
// supervisor: pass it to Record.
func Command(t testing.TB, role string, args ...string) *exec.Cmd {
	t.Helper()
	return testproc.Command(t, LauncherRole, append([]string{role}, args...)...)
}

// AckFile returns the writer's end of the acknowledgement pipe. The writer
// writes one line per acknowledgement with a single write (an unbuffered
// fmt.Fprintf to it does) before it starts the next operation: Record then
// knows which held calls came after it.
func AckFile() (*os.File, error) {
	fd, err := strconv.Atoi(os.Getenv(ackEnv))
	if err != nil {
		return nil, fmt.Errorf("powerloss: %s is not set: this process was not started by Record", ackEnv)
	}
	return os.NewFile(uintptr(fd), "powerloss-ack"), nil
}
