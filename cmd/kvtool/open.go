package main

import (
	"errors"
	"flag"
	"os"
	"time"

	"github.com/mapkv/mapkv/kv"
)

// openRead opens path read-only: the read commands (get, list, stat, check,
// dump, and snapshot's source) work for a user who may only read the file,
// and never create it. lock is the --lock-timeout of check and snapshot,
// which take the writer lock for a moment; nil for commands that never do.
func openRead(path string, lock *lockOption) (*kv.DB, error) {
	o := &kv.Options{ReadOnly: true}
	if lock != nil {
		o.LockTimeout = lock.timeout
	}
	db, err := kv.Open(path, o)
	if err != nil {
		return nil, lock.fail(path, nil, err)
	}
	return db, nil
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
	fs.DurationVar(&l.timeout, "lock-timeout", defaultLockTimeout,
		"how long to wait for another writer, as a Go `duration` (500ms, 1m)")
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
	db, err := kv.Open(path, &kv.Options{Sync: w.sync, LockTimeout: w.timeout})
	if err != nil {
		return nil, w.fail(path, nil, err)
	}
	return db, nil
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

// mustExist returns an error explaining that path is missing, if it is.
func mustExist(path string) error {
	_, err := os.Stat(path)
	return fail(path, nil, err)
}

// addTTLFlag defines --ttl, the expiry of the keys that put and incr create.
// 0, the default, and any duration below it mean no expiry, as for kv.PutTTL.
func addTTLFlag(fs *flag.FlagSet, usage string) *time.Duration {
	return fs.Duration("ttl", 0, usage)
}
