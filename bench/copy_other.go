//go:build !linux

package main

import (
	"io"
	"os"
)

// copyFile copies src to a new file dst with io.Copy (copy_file_range is
// Linux only).
func copyFile(src, dst string, sync bool) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if err == nil && sync {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}

const copyMethod = "io.Copy"
