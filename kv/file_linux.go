package kv

import (
	"errors"
	"fmt"

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

// Network file systems whose flock is not a reliable lock between hosts or
// whose shared mappings are not coherent between clients.
var networkFS = map[int64]string{
	0x6969:     "NFS",
	0x517b:     "SMB",
	0xff534d42: "CIFS",
	0xfe534d42: "SMB2",
	0x00c36400: "Ceph",
	0x5346414f: "AFS",
	0x73757245: "Coda",
	0x01161970: "GFS2",
	0x47504653: "GPFS",
	0x0bd00bd0: "Lustre",
}

// checkFileSystem refuses a file on a network file system.
func checkFileSystem(fd int) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return nil // unknown: let the lock itself decide
	}
	if name, ok := networkFS[int64(st.Type)]; ok {
		return fmt.Errorf("the file is on %s, a network file system where flock and shared mappings do not coordinate processes; keep it on a local disk or tmpfs: %w", name, ErrInvalid)
	}
	return nil
}

// prefault maps the pages of b writable in this process ahead of use. Kernels
// before 5.14 lack MADV_POPULATE_WRITE; then the pages fault in on first
// write as usual.
func prefault(b []byte) {
	if len(b) > 0 {
		_ = unix.Madvise(b, unix.MADV_POPULATE_WRITE)
	}
}
