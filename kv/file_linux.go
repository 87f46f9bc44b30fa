package kv

import (
	"errors"

	"golang.org/x/sys/unix"
)

// reserveBlocks allocates the blocks of a grown region so that writing to it
// through the mapping can never hit a full disk.
func reserveBlocks(fd int, off, n int64) error {
	err := unix.Fallocate(fd, 0, off, n)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		return zeroFill(fd, off, n)
	}
	return err
}

// syncFile flushes the file. On Linux fdatasync also writes back pages dirtied
// through a shared mapping, and it measured several times faster than msync.
func syncFile(fd int, _ []byte) error {
	return unix.Fdatasync(fd)
}
