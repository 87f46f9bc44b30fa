package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mapkv/mapkv/kv"
)

func newCreateCommand() *command {
	c := newCommand("create", "FILE", "create a new file, with a size bound or as a cache", 1, 1)
	c.help = `
Create makes a new, empty database file with the settings that only a new
file takes: --max-size bounds the file (at the bound writes fail with
"database is full"), and --evict makes it a cache that evicts entries not
used recently at the bound instead (--evict needs --max-size). Sizes are
bytes or a number with a unit: 64k, 256MiB, 1GiB (k, M, G, T and KiB, MiB,
GiB, TiB are powers of 1024; kB, MB, GB, TB powers of 1000).

  kvtool create /dev/shm/app.cache --max-size 256MiB --evict

--initial-size sets the size the file starts at (default 1 MiB, at least
64 KiB, at most --max-size); it grows from there as needed. --mode sets the
file's permission bits exactly, whatever the umask (default 0600).

Create refuses to touch an existing FILE, even an empty one (exit 2). It
builds the file under a temporary name beside FILE and links it into place,
so another process never sees a half-made file, and of two creates of one
FILE exactly one succeeds. put, incr, load, mset and add create a file too,
without a bound.
`
	var maxSize, initialSize int64
	mode, modeSet := os.FileMode(0o600), false
	c.flags.Var(sizeValue{&maxSize}, "max-size", "bound the file at `SIZE` (64k, 256MiB, 1GiB); default: no bound")
	evict := c.flags.Bool("evict", false, "a cache: at --max-size, evict entries instead of failing")
	c.flags.Var(sizeValue{&initialSize}, "initial-size", "start the file at `SIZE` (default 1 MiB)")
	c.flags.Var(modeValue{&mode, &modeSet}, "mode", "permission bits of the file, in `octal`")
	c.run = func(e *env, args []string) error {
		switch {
		case *evict && maxSize == 0:
			return usagef("--evict needs --max-size: a cache evicts when it reaches its bound")
		case maxSize != 0 && maxSize < kv.MinFileSize:
			return usagef("--max-size must be at least %s", formatSize(kv.MinFileSize))
		case maxSize != 0 && initialSize > maxSize:
			return usagef("--initial-size (%s) must not be larger than --max-size (%s)", formatSize(initialSize), formatSize(maxSize))
		}
		o := kv.Options{MaxSize: maxSize, Evict: *evict, InitialSize: initialSize, Mode: mode}
		return runCreate(args[0], o)
	}
	return c
}

func runCreate(path string, o kv.Options) error {
	if _, err := os.Lstat(path); err == nil {
		return exists(path)
	}
	if err := checkPath(path, true); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".create-*")
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", path, unwrapPath(err))
	}
	tmpPath := tmp.Name()
	defer os.Remove(tmpPath) // after the link, or after a failure
	err = tmp.Close()
	if err == nil {
		// kv initialises an empty file in place, with o's settings.
		var db *kv.DB
		if db, err = kv.Open(tmpPath, &o); err == nil {
			err = db.Close()
		}
	}
	if err == nil {
		err = os.Chmod(tmpPath, o.Mode)
	}
	if err != nil {
		return fmt.Errorf("cannot create %s: %s", path, trimKV(unwrapPath(err)))
	}
	// link(2) fails if path exists: unlike rename, it never replaces a file
	// another create or put made meanwhile.
	if err := os.Link(tmpPath, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return exists(path)
		}
		return fmt.Errorf("cannot create %s: %v", path, unwrapLink(err))
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // the new name survives a power loss
		d.Close()
	}
	return nil
}

func exists(path string) error {
	return fmt.Errorf("%s already exists: create makes only new files (remove it first, or write to it with put)", path)
}

func unwrapLink(err error) error {
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
