//go:build unix && !linux

package kv

import "golang.org/x/sys/unix"

// reserveBlocks allocates the blocks of a grown region by writing zeros, the
// portable way to make a later store through the mapping unable to fail.
func reserveBlocks(fd int, off, n int64) error {
	return zeroFill(fd, off, n)
}

// syncFile flushes pages dirtied through the mapping, then the file.
func syncFile(fd int, data []byte) error {
	if len(data) > 0 {
		if err := unix.Msync(data, unix.MS_SYNC); err != nil {
			return err
		}
	}
	return unix.Fsync(fd)
}

// checkFileSystem: other systems offer no portable way to spot a network file
// system; docs/concurrency.md warns against them.
func checkFileSystem(fd int) error { return nil }

// prefault: elsewhere new pages fault in on first write.
func prefault(b []byte) {}
