//go:build unix

package kv

import "golang.org/x/sys/unix"

// zeroFill writes zeros over [off, off+n), which allocates the blocks.
func zeroFill(fd int, off, n int64) error {
	zeros := make([]byte, 64<<10)
	for n > 0 {
		c := min(n, int64(len(zeros)))
		w, err := unix.Pwrite(fd, zeros[:c], off)
		if err != nil {
			return err
		}
		off += int64(w)
		n -= int64(w)
	}
	return nil
}
