package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// memStatus reads the memory lines of /proc/PID/status (pid 0: this
// process) in bytes: VmHWM is the peak resident set, RssAnon and RssFile
// split the current one into heap and mapped file pages.
func memStatus(pid int) (MemStatus, error) {
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	f, err := os.Open(path)
	if err != nil {
		return MemStatus{}, err
	}
	defer f.Close()
	var m MemStatus
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "VmHWM":
			dst = &m.PeakRSS
		case "VmRSS":
			dst = &m.RSS
		case "RssAnon":
			dst = &m.RSSAnon
		case "RssFile":
			dst = &m.RSSFile
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err == nil {
			*dst = kb << 10
		}
	}
	return m, sc.Err()
}

// kernelVersion returns the kernel's name and release.
func kernelVersion() string {
	rel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "Linux"
	}
	return "Linux " + strings.TrimSpace(string(rel))
}
