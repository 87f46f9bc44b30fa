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

// notFound is exit status 1 for a key that is absent from path.
func notFound(path string, key []byte) error {
	return &statusError{status: exitFalse, msg: fmt.Sprintf("key %s not found in %s", quoteKey(key), path)}
}

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

// temporary reports whether err is worth retrying as it is: the writer lock
// was held past --lock-timeout, or a reader gave up because writers kept
// changing what it read. report exits 75 (EX_TEMPFAIL) for these.
func temporary(err error) bool {
	return errors.Is(err, kv.ErrLocked) || errors.Is(err, kv.ErrBusy)
}

// explain returns the line that tells the user what went wrong and what to do
// about it: "what happened: what to do".
func explain(err error) string {
	var e *dbError
	if !errors.As(err, &e) {
		return err.Error()
	}
	// Context wrapped around the dbError ("after 300 records: ") stays.
	if outer, inner := err.Error(), e.Error(); outer != inner && strings.HasSuffix(outer, inner) {
		return outer[:len(outer)-len(inner)] + explainDB(e)
	}
	return explainDB(e)
}

// explainDB is explain for the dbError itself.
func explainDB(e *dbError) string {
	err := error(e)
	p := e.path
	switch {
	case errors.Is(err, kv.ErrFull):
		limit := "its MaxSize"
		if e.stats != nil && e.stats.MaxSize > 0 {
			limit = "max size " + formatSize(e.stats.MaxSize)
		}
		return fmt.Sprintf("database is full (%s): delete keys, sweep expired ones, or snapshot --compact", limit)
	case errors.Is(err, kv.ErrTooLarge):
		return fmt.Sprintf("key or value too large: keys may have up to %d bytes and values up to %s, and a record must fit in the file's max size",
			kv.MaxKeySize, formatSize(kv.MaxValueSize))
	case errors.Is(err, kv.ErrBusy):
		return fmt.Sprintf("%s: writers kept changing what was being read: retry (exit status 75 means try again)", p)
	case errors.Is(err, kv.ErrLocked):
		holder := "another writer"
		if e.stats != nil {
			holder = lockHolder(e.stats.WriterPID)
		}
		return fmt.Sprintf("%s: the writer lock is held by %s: retry, or wait longer with --lock-timeout (now %s)", p, holder, e.lockTimeout)
	case errors.Is(err, kv.ErrCorrupt):
		if why := notMapkv(p); why != "" {
			return why
		}
		return fmt.Sprintf("%s is damaged: run 'kvtool check %s' to see what is wrong", p, p)
	case errors.Is(err, kv.ErrReadOnly):
		return fmt.Sprintf("%s is read-only: use a file you may write", p)
	case errors.Is(err, kv.ErrInvalid):
		return fmt.Sprintf("%s: %s", p, kvDetail(e.err))
	case errors.Is(err, fs.ErrExist):
		return fmt.Sprintf("%s already exists: use --force to replace it", p)
	case errors.Is(err, fs.ErrNotExist) && e.write:
		return fmt.Sprintf("cannot create %s: its directory does not exist", p)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("%s does not exist: check the path (put, incr, load and create make a new file)", p)
	case errors.Is(err, fs.ErrPermission) && e.write:
		return fmt.Sprintf("no permission to write %s: %s need only read access", p, readCommands())
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("no permission to read %s", p)
	}
	return fmt.Sprintf("%s: %s", p, kvDetail(e.err))
}

// kvDetail returns kv's message without what the line says already: the
// "kv: " it starts with and the sentinel's text it ends with.
func kvDetail(err error) string {
	s := strings.TrimPrefix(err.Error(), "kv: ")
	for _, sentinel := range []error{kv.ErrInvalid, kv.ErrCorrupt, kv.ErrFull, kv.ErrTooLarge} {
		if errors.Is(err, sentinel) {
			s = strings.TrimSuffix(s, ": "+sentinel.Error())
		}
	}
	return s
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

// formatSize formats n bytes for people: "1 MiB", "1.5 GiB", "300 bytes",
// "1 byte".
func formatSize(n int64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return plural(n, "byte")
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

// plural returns "1 key", "2 keys", "0 keys".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
