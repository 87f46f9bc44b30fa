package kv

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const futexSupported = true

// From linux/futex.h; golang.org/x/sys/unix does not name them.
const (
	futexWaitOp = 0
	futexWakeOp = 1
)

// futexWait sleeps while *word == val, at most d. The futex is shared (not
// FUTEX_PRIVATE) so that a writer in another process can wake it.
func futexWait(word *uint32, val uint32, d time.Duration) {
	ts := unix.NsecToTimespec(d.Nanoseconds())
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), futexWaitOp, uintptr(val), uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// futexWake wakes every process sleeping on word.
func futexWake(word *uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), futexWakeOp, uintptr(1<<31-1), 0, 0, 0)
}
