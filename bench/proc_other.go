//go:build !linux

package main

import (
	"errors"
	"runtime"

	"golang.org/x/sys/unix"
)

// memStatus returns the peak resident set of this process from getrusage;
// other processes and the anon/file split are not available here.
func memStatus(pid int) (MemStatus, error) {
	if pid != 0 {
		return MemStatus{}, errors.New("memory of another process: Linux only")
	}
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return MemStatus{}, err
	}
	peak := ru.Maxrss << 10 // kilobytes, except on Darwin
	if runtime.GOOS == "darwin" {
		peak = ru.Maxrss
	}
	return MemStatus{PeakRSS: int64(peak)}, nil
}

func kernelVersion() string { return runtime.GOOS }
