package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/mapkv/mapkv/kv"
	"golang.org/x/sys/unix"
)

// openRead opens path read-only: the read commands (get, list, stat, check,
// dump, and snapshot's source) work for a user who may only read the file,
// and never create it. lock is the --lock-timeout of check and snapshot,
// which take the writer lock for a moment; nil for commands that never do.
func openRead(path string, lock *lockOption) (*kv.DB, error) {
	if err := checkPath(path, false); err != nil {
		return nil, err
	}
	o := &kv.Options{ReadOnly: true}
	if lock != nil {
		if lock.timeout < 0 {
			return nil, usagef("--lock-timeout must not be negative")
		}
		o.LockTimeout = lock.kvTimeout()
	}
	db, err := kv.Open(path, o)
	if err != nil {
		return nil, lock.fail(path, nil, err)
	}
	return db, nil
}

// checkPath explains, before kv tries, why path cannot be a database file:
// a directory, a device, a missing file that is not to be created, or one
// whose directory is missing or not writable. kv would refuse too, in words
// meant for a Go program.
func checkPath(path string, create bool) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return fmt.Errorf("%s is a directory: give the path of a database file", path)
	case err == nil && !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file (it is a %s): a database is a regular file", path, fileKind(fi.Mode()))
	case err == nil || !errors.Is(err, fs.ErrNotExist):
		return nil // kv says what else is wrong, with the path
	case !create:
		return fail(path, nil, err)
	}
	dir := filepath.Dir(path)
	if di, err := os.Stat(dir); err != nil || !di.IsDir() {
		return fmt.Errorf("cannot create %s: its directory %s does not exist", path, dir)
	}
	if unix.Access(dir, unix.W_OK) != nil {
		return fmt.Errorf("cannot create %s: no permission to write its directory %s", path, dir)
	}
	return nil
}

// fileKind names the type of a file that is not regular.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}

// defaultLockTimeout is how long a command waits for another writer's lock
// before it gives up with ErrLocked: long enough to ride out a busy writer,
// short enough that a script does not hang on a stuck one. (kv's own default,
// 0, waits forever.)
const defaultLockTimeout = 10 * time.Second

// lockOption is --lock-timeout, for every command that takes the writer lock.
type lockOption struct{ timeout time.Duration }

func addLockFlag(fs *flag.FlagSet) *lockOption {
	l := &lockOption{}
	l.addFlag(fs)
	return l
}

func (l *lockOption) addFlag(fs *flag.FlagSet) {
	l.timeout = defaultLockTimeout
	fs.Var(durationValue{&l.timeout}, "lock-timeout",
		"wait at most `duration` for another writer's lock (500ms, 1m); 0: do not wait")
}

// kvTimeout is the timeout as kv.Options.LockTimeout takes it. kv reads 0 as
// "wait forever"; --lock-timeout 0 means "do not wait", as flock -w 0 does,
// so it becomes the shortest positive duration: kv tries the lock once
// without waiting before it sleeps, and gives up after that one try.
func (l *lockOption) kvTimeout() time.Duration {
	if l.timeout <= 0 {
		return time.Nanosecond
	}
	return l.timeout
}

// fail is the package's fail, recording the timeout so that explain can
// point at --lock-timeout. l may be nil.
func (l *lockOption) fail(path string, db *kv.DB, err error) error {
	err = fail(path, db, err)
	var e *dbError
	if l != nil && errors.As(err, &e) {
		e.lockTimeout = l.timeout.String()
	}
	return err
}

// writeOptions are the flags every command that writes accepts.
type writeOptions struct {
	lockOption
	sync bool
}

func addWriteFlags(fs *flag.FlagSet) *writeOptions {
	w := &writeOptions{}
	w.lockOption.addFlag(fs)
	fs.BoolVar(&w.sync, "sync", false, "flush each commit to stable storage before returning")
	return w
}

// open opens path for writing, creating it if missing.
func (w *writeOptions) open(path string) (*kv.DB, error) {
	if w.timeout < 0 {
		return nil, usagef("--lock-timeout must not be negative")
	}
	if err := checkPath(path, true); err != nil {
		return nil, err
	}
	db, err := kv.Open(path, &kv.Options{Sync: w.sync, LockTimeout: w.kvTimeout()})
	if err != nil {
		return nil, w.fail(path, nil, err)
	}
	return db, nil
}

// openExisting is open for the commands that only change what FILE holds
// (del, expire, clear...): they never create a file only to find nothing in it.
func (w *writeOptions) openExisting(path string) (*kv.DB, error) {
	if err := checkPath(path, false); err != nil {
		return nil, err
	}
	return w.open(path)
}

// fail is the package's fail for a file opened for writing, so that explain
// also knows that a missing file was to be created.
func (w *writeOptions) fail(path string, db *kv.DB, err error) error {
	err = w.lockOption.fail(path, db, err)
	var e *dbError
	if errors.As(err, &e) {
		e.write = true
	}
	return err
}

// ttlOption is --ttl, the expiry of the keys a command stores.
type ttlOption struct{ d time.Duration }

// addTTLFlag defines --ttl. 0, the default, means no expiry; a negative one
// is refused by get (checkTTL).
func addTTLFlag(fs *flag.FlagSet, usage string) *ttlOption {
	t := &ttlOption{}
	fs.Var(durationValue{&t.d}, "ttl", usage)
	return t
}

// value returns the TTL to give kv: rounded up to the millisecond, or a
// usage error for a negative one.
func (t *ttlOption) value() (time.Duration, error) {
	d, err := checkTTL(t.d)
	if err != nil {
		return 0, usagef("--ttl: %v", err)
	}
	return d, nil
}
