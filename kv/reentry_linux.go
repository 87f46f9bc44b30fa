package kv

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// enterFn marks the calling goroutine as the one running an Update's fn on
// db, until it calls leaveFn: it wires the goroutine to its thread, so that
// the thread's id names the goroutine (reentry.go).
func (db *DB) enterFn() {
	runtime.LockOSThread()
	db.updater.Store(int64(unix.Gettid()))
}

// leaveFn ends enterFn's mark. The id is cleared before the thread is let
// go: once another goroutine can run on this thread, it must not find its
// id recorded.
func (db *DB) leaveFn() {
	db.updater.Store(0)
	runtime.UnlockOSThread()
}

// isUpdater reports whether the caller is the goroutine enterFn marked. The
// caller is wired to its thread while it asks, so no goroutine that marked
// that thread can still be running fn: equal ids mean the same goroutine.
func (db *DB) isUpdater() bool {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return int64(unix.Gettid()) == db.updater.Load()
}
