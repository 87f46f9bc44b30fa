//go:build unix

package kv

import (
	"runtime"
	"strconv"
)

// Re-entry: an Update's fn holds the writer lock, so a call from fn to a
// method that takes the lock (Put, Delete, Update, Check, Snapshot, WriteTo,
// Close, a View that has to lock) would wait for itself for ever. Such a
// call returns an error wrapping ErrInvalid instead. Telling it from a call
// by another goroutine, which must simply wait, needs to know which
// goroutine is running fn: db.updater holds an identity of it while fn runs,
// and insideUpdate compares the caller's.
//
// Go has no public goroutine id. Parsing runtime.Stack's "goroutine N" line
// (goidFromStack) costs a traceback of the caller's whole stack: measured
// here at 2.9 µs with an empty stack, 7 µs at 10 frames, 22 µs at 50 and
// 45 µs at 200 (BenchmarkReentryCheck), paid by every write that another
// goroutine makes while an Update runs. On Linux the identity is a thread
// id instead: fn runs with its goroutine wired to its thread
// (runtime.LockOSThread, so that no other goroutine runs on that thread
// meanwhile), and a caller compares gettid(2) with it, itself wired for the
// moment it asks, which costs about 0.1 µs whatever the stack
// (reentry_linux.go). Other systems keep the stack parse
// (reentry_other.go).

// insideUpdate reports whether the calling goroutine is running an Update's
// fn on this handle. Outside an Update it costs one atomic load.
func (db *DB) insideUpdate() bool {
	if db.updater.Load() == 0 {
		return false
	}
	return db.isUpdater()
}

// goidFromStack returns the current goroutine's id, read from the first
// line of its stack trace ("goroutine 18 [running]:"), or -1.
func goidFromStack() int64 {
	var buf [32]byte
	n := runtime.Stack(buf[:], false)
	s := string(buf[:n])
	const prefix = "goroutine "
	if len(s) <= len(prefix) {
		return -1
	}
	s = s[len(prefix):]
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	id, err := strconv.ParseInt(s[:end], 10, 64)
	if err != nil {
		return -1
	}
	return id
}
