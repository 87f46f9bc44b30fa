package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/mapkv/mapkv/kv"
)

// usageError is bad usage of a command: report prints the message, then the
// command's usage, and exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// statusError is an outcome with its own exit status and message, such as a
// key that get did not find. An empty message prints nothing.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

// dbError is a failed operation on the database file path, with what kvtool
// knew about the file when it failed, so that explain can say what to do.
type dbError struct {
	path        string
	err         error
	stats       *kv.Stats // nil when the file was not open
	lockTimeout string    // --lock-timeout as given, for writes
	write       bool      // the file was opened for writing
}

func (e *dbError) Error() string { return e.path + ": " + e.err.Error() }
func (e *dbError) Unwrap() error { return e.err }

// fail wraps err, if not nil, as a dbError on path, taking the statistics of
// db if it is open.
func fail(path string, db *kv.DB, err error) error {
	if err == nil {
		return nil
	}
	e := &dbError{path: path, err: err}
	if db != nil {
		s := db.Stats()
		e.stats = &s
	}
	return e
}

// explain returns the line that tells the user what went wrong and what to do
// about it: "what happened: what to do".
func explain(err error) string {
	var e *dbError
	if !errors.As(err, &e) {
		return err.Error()
	}
	p := e.path
	switch {
	case errors.Is(err, kv.ErrFull):
		limit := "its MaxSize"
		if e.stats != nil && e.stats.MaxSize > 0 {
			limit = "MaxSize " + formatSize(e.stats.MaxSize)
		}
		return fmt.Sprintf("database is full (%s): delete keys or snapshot --compact", limit)
	case errors.Is(err, kv.ErrTooLarge):
		return fmt.Sprintf("key or value too large: keys may have up to %d bytes and values up to %s, and a record must fit in the file's MaxSize",
			kv.MaxKeySize, formatSize(kv.MaxValueSize))
	case errors.Is(err, kv.ErrLocked):
		holder := "another writer"
		if e.stats != nil {
			holder = lockHolder(e.stats.WriterPID)
		}
		return fmt.Sprintf("%s: the writer lock is held by %s: retry, or wait longer with --lock-timeout (now %s)", p, holder, e.lockTimeout)
	case errors.Is(err, kv.ErrCorrupt):
		return fmt.Sprintf("%s is damaged or not a mapkv file: run 'kvtool check %s' to see what is wrong", p, p)
	case errors.Is(err, kv.ErrReadOnly):
		return fmt.Sprintf("%s is read-only: use a file you may write", p)
	case errors.Is(err, kv.ErrInvalid):
		return fmt.Sprintf("invalid argument: %s", trimKV(e.err))
	case errors.Is(err, fs.ErrExist):
		return fmt.Sprintf("%s already exists: use --force to replace it", p)
	case errors.Is(err, fs.ErrNotExist) && e.write:
		return fmt.Sprintf("cannot create %s: its directory does not exist", p)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("%s does not exist: check the path (put, incr and load create a new file)", p)
	case errors.Is(err, fs.ErrPermission) && e.write:
		return fmt.Sprintf("no permission to write %s: get, ttl, list, stat, check and dump need only read access", p)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("no permission to read %s", p)
	}
	return fmt.Sprintf("%s: %s", p, trimKV(e.err))
}

// lockHolder describes kv.Stats.WriterPID.
func lockHolder(pid int) string {
	switch pid {
	case 0:
		return "nobody"
	case -1:
		return "a read-only handle (a snapshot or check)"
	}
	return fmt.Sprintf("process %d", pid)
}

// trimKV drops the "kv: " that kv's messages start with: the line already
// says kvtool.
func trimKV(err error) string {
	return strings.TrimPrefix(err.Error(), "kv: ")
}

// formatSize formats n bytes for people: "1 MiB", "1.5 GiB", "300 bytes".
func formatSize(n int64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	div, i := int64(1024), 0
	for n/div >= 1024 && i < len(units)-1 {
		div *= 1024
		i++
	}
	if n%div == 0 {
		return fmt.Sprintf("%d %ciB", n/div, units[i])
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), units[i])
}
