//go:build !linux

package main

import "os"

// isTerminal reports whether f is likely a terminal. Without the platform's
// ioctl a character device is the best guess; it mistakes /dev/null for one,
// which costs at most a newline or a progress line nobody sees.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
