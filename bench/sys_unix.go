//go:build unix

package main

import (
	"os"
	"syscall"
)

// allocatedSize returns the bytes a file occupies on disk, which is less
// than its size when it is sparse.
func allocatedSize(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return fi.Size()
}
