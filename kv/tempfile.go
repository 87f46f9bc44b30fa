//go:build unix

package kv

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Files that are built under a temporary name beside their destination and
// renamed or linked into place, so that a crash never leaves a half-built
// file under the real name: snapshots ("tmp") and new stores ("new"). The
// temporary name carries the creator's pid, so that a later creator can tell
// a file a killed process abandoned from one still being built:
//
//	.DEST.KIND-PID-RANDOM

func tempPrefix(dst, kind string) string {
	return filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+"."+kind+"-")
}

// createBeside creates a new temporary file for dst after removing those that
// dead processes left behind.
func createBeside(dst, kind string, mode os.FileMode) (*os.File, error) {
	prefix := tempPrefix(dst, kind)
	removeAbandoned(prefix)
	var r [6]byte
	for attempt := 0; ; attempt++ {
		if _, err := rand.Read(r[:]); err != nil {
			return nil, err
		}
		name := prefix + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(r[:])
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, mode)
		if errors.Is(err, fs.ErrExist) && attempt < 8 {
			continue
		}
		return f, err
	}
}

// removeAbandoned deletes the temporary files starting with prefix whose
// process no longer exists.
func removeAbandoned(prefix string) {
	old, _ := filepath.Glob(prefix + "*")
	for _, path := range old {
		pidText, _, ok := strings.Cut(strings.TrimPrefix(path, prefix), "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if errors.Is(unix.Kill(pid, 0), unix.ESRCH) {
			os.Remove(path)
		}
	}
}

// syncDir flushes a directory, so that a name just linked or renamed into it
// survives a power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
