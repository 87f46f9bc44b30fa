package kv

import "errors"

// Sentinel errors. Every error returned by this package that stems from one of
// these conditions wraps the sentinel, so callers test with errors.Is.
var (
	// ErrNotFound is returned by the reads of one key (Get, AppendGet, TTL,
	// Watch, and Tx's and ReadTx's) and by Expire when the key is absent or
	// expired.
	ErrNotFound = errors.New("kv: key not found")
	// ErrReadOnly is returned by writes on a DB opened with Options.ReadOnly.
	ErrReadOnly = errors.New("kv: database is read-only")
	// ErrFull is returned by a write that needs more room than Options.MaxSize allows.
	// Deleting keys makes room again.
	ErrFull = errors.New("kv: database is full")
	// ErrTooLarge is returned for a key longer than MaxKeySize, a value longer than
	// MaxValueSize, or a record that could not fit even in an empty file of MaxSize.
	ErrTooLarge = errors.New("kv: key or value too large")
	// ErrInvalid is returned for bad arguments (an empty key, conflicting
	// options, Add on a value that is not an 8-byte counter) and for misuse:
	// calling from inside an Update's fn a method of the same DB that takes
	// the writer lock (it would wait for itself).
	ErrInvalid = errors.New("kv: invalid argument")
	// ErrCorrupt is returned when the file is damaged, truncated, foreign, or of
	// another format version. The file is never written to in that case.
	ErrCorrupt = errors.New("kv: file is corrupt or not a mapkv file")
	// ErrVersion is returned by Open for a mapkv file of another format
	// version than FormatVersion: newer (open it with a newer mapkv) or older
	// (copy its data with the mapkv that wrote it: kvtool dump, then load).
	// Such an error wraps ErrCorrupt as well.
	ErrVersion = errors.New("kv: file is of another mapkv format version")
	// ErrLocked is returned when the writer lock could not be taken within
	// Options.LockTimeout.
	ErrLocked = errors.New("kv: writer lock is held by another writer")
	// ErrBusy is returned by a reader that gave up because writers kept
	// changing what it was reading: retrying later succeeds. It never means
	// that the file is damaged or that a lock is held.
	ErrBusy = errors.New("kv: writers kept changing the data being read; try again")
	// ErrClosed is returned by every method of a closed DB, and by the methods
	// of a Tx or ReadTx after its Update or View has returned.
	ErrClosed = errors.New("kv: database is closed")
)
