package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// copyFile copies src to a new file dst with copy_file_range(2), the
// kernel's in-page-cache copy: the baseline a snapshot is compared with.
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
	var total int64
	for {
		n, err := unix.CopyFileRange(int(in.Fd()), nil, int(out.Fd()), nil, 1<<30, 0)
		if err != nil {
			out.Close()
			return total, &os.PathError{Op: "copy_file_range", Path: src, Err: err}
		}
		if n == 0 {
			break
		}
		total += int64(n)
	}
	if sync {
		if err := out.Sync(); err != nil {
			out.Close()
			return total, err
		}
	}
	return total, out.Close()
}

const copyMethod = "copy_file_range"
