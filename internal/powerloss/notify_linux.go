//go:build linux && (amd64 || arm64)

package powerloss

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The seccomp user-notification ABI (linux/seccomp.h); x/sys/unix has the
// constants but not these structures.
type seccompData struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// seccompIoctlNotifIDValid is SECCOMP_IOCTL_NOTIF_ID_VALID, _IOW('!', 2, __u64).
const seccompIoctlNotifIDValid = 0x40082102

// trapped lists the system calls the filter hands to the supervisor, by name.
// The numbers come from x/sys/unix for the architecture being built.
var trapped = []struct {
	nr   uintptr
	name string
}{
	{unix.SYS_FDATASYNC, "fdatasync"},
	{unix.SYS_FSYNC, "fsync"},
	{unix.SYS_MSYNC, "msync"},
	{unix.SYS_SYNC_FILE_RANGE, "sync_file_range"},
	{unix.SYS_SYNCFS, "syncfs"},
	{unix.SYS_SYNC, "sync"},
	{unix.SYS_FTRUNCATE, "ftruncate"},
	{unix.SYS_FALLOCATE, "fallocate"},
}

func callName(nr int32) string {
	for _, c := range trapped {
		if uintptr(nr) == c.nr {
			return c.name
		}
	}
	return fmt.Sprintf("syscall %d", nr)
}

// filter assembles the BPF program: for this architecture, every trapped
// call goes to the listener, everything else is allowed. (A call made with
// another ABI, such as x32 on amd64, has other numbers and is allowed: Go
// never makes one.)
func filter() []unix.SockFilter {
	stmt := func(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }
	jeq := func(k uint32, jt, jf uint8) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: jt, Jf: jf, K: k}
	}
	const (
		offNr   = uint32(unsafe.Offsetof(seccompData{}.Nr))
		offArch = uint32(unsafe.Offsetof(seccompData{}.Arch))
	)
	n := len(trapped)
	allow := 3 + n // index of the ALLOW return; notify follows it
	prog := []unix.SockFilter{
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offArch),
		jeq(auditArch, 0, uint8(allow-2)),
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offNr),
	}
	for i, c := range trapped {
		prog = append(prog, jeq(uint32(c.nr), uint8(allow+1-(3+i)-1), 0))
	}
	return append(prog,
		stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ALLOW),
		stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_USER_NOTIF))
}

// installFilter installs the filter on the calling thread, which the caller
// has locked, and returns the listener descriptor.
func installFilter() (int, error) {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %v: %w", err, ErrUnavailable)
	}
	prog := filter()
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return -1, fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER): %v: %w", errno, ErrUnavailable)
	}
	return int(fd), nil
}

func ioctlPtr(fd int, req uintptr, p unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(p))
	if errno != 0 {
		return errno
	}
	return nil
}

func notifRecv(fd int, n *seccompNotif) error {
	*n = seccompNotif{} // the kernel insists on a zeroed buffer
	return ioctlPtr(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(n))
}

func notifContinue(fd int, id uint64) error {
	r := seccompNotifResp{ID: id, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	return ioctlPtr(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&r))
}

// notifValid reports whether the notification is still pending, so that what
// was read from /proc/<tid> belongs to the task that made the call.
func notifValid(fd int, id uint64) bool {
	return ioctlPtr(fd, seccompIoctlNotifIDValid, unsafe.Pointer(&id)) == nil
}
